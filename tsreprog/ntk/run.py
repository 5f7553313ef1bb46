"""`tsreprog select` as a function: build the candidates, score them on the same windows by the chosen method,
print the ranking and the tie group, and return the report that select.json holds. The CLI only parses and writes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from tsreprog.errors import ConfigError, TsreprogError


def run_selection(settings, plot_path: Path | None, log: Callable[[str], None] = print) -> dict:
    """Rank ``settings``' candidates on its dataset; prints the ranking (and the method's measured reliability)."""
    from dataclasses import replace

    import torch

    from tsreprog.backbones.registry import check_loadable
    from tsreprog.data.sizing import sized_window
    from tsreprog.data.splits import prepare
    from tsreprog.models import ModelConfig
    from tsreprog.ntk.reliability import reliability_line, reliability_summary
    from tsreprog.ntk.select import NO_BACKBONE, Candidate, selection_windows
    from tsreprog.train.loop import torch_device

    lookback, horizon = sized_window(settings.dataset, settings.data_dir, settings.lookback, settings.horizon,
                                     **settings.csv_options())
    settings = replace(settings, lookback=lookback, horizon=horizon)  # what ran is what select.json records
    data = prepare(settings.dataset, settings.lookback, settings.horizon, settings.data_dir, **settings.csv_options())
    base = ModelConfig(lookback=settings.lookback, horizon=settings.horizon, prompt=settings.prompt,
                       description=data.description, n_prototypes=settings.n_prototypes, seed=settings.seed,
                       adapt=settings.adapt)
    # the no-backbone ablation has no depth to vary: one candidate, whatever the layer counts
    backbones = [b.strip() for b in settings.backbones]
    candidates = [Candidate(b, n) for b in backbones if b != NO_BACKBONE for n in settings.layer_counts()]
    candidates += [Candidate(NO_BACKBONE, None)] if NO_BACKBONE in backbones else []
    if len(candidates) < 2:
        raise ConfigError(f"select ranks candidates against each other: give at least two (backbones x layers), got "
                          f"only {candidates[0].label if candidates else 'none'} (e.g. --backbones none,minilm-l6)")
    for name in dict.fromkeys(b for b in backbones if b != NO_BACKBONE):
        check_loadable(name)  # every name before any candidate is scored
    device = torch_device(settings.accelerator)  # a GPU asked for and absent: one line, before any scoring
    windows = selection_windows(data, settings.lookback, settings.horizon, settings.n_train, settings.n_val,
                                settings.n_pool, settings.seed, settings.train_fraction)
    report = {"dataset": data.name, "method": settings.method, "settings": settings.to_dict(),
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}
    log(f"{len(candidates)} candidates by {settings.method}, on {report['device']}")
    if settings.method == "halving":
        report.update(rank_by_halving(settings, candidates, base, windows.pool, windows.val, log, device))
    else:
        report.update(rank_by_kernel(settings, candidates, base, windows.x, windows.y, windows.n_train,
                                     windows.pool, plot_path, log, device))
    report["reliability"] = reliability_line(settings.method)
    print(reliability_summary(settings.method))
    report["pick"] = report.get("pick") or report["ranking"][0]["candidate"]
    report["pick_config"] = pick_config(settings, candidates, base, report["pick"])
    return report


def pick_config(settings, candidates, base, pick: str) -> dict:
    """The ``model`` and ``train`` sections that train the picked candidate (``tsreprog train --config``): a pick of
    ``none`` is a PatchTST-shaped model, not a backbone name, so a user could not write it from the label alone."""
    from tsreprog.ntk.select import candidate_config
    from tsreprog.train import TrainConfig

    chosen = next(c for c in candidates if c.label == pick)
    train = TrainConfig(dataset=settings.dataset, data_dir=settings.data_dir, train_fraction=settings.train_fraction,
                        seed=settings.seed, **settings.csv_options())
    return {"model": candidate_config(chosen, base).to_dict(), "train": train.to_dict()}


def rank_by_kernel(settings, candidates, base, x, y, n_train, pool, plot_path, log, device="cpu") -> dict:
    """Rank by the kernel-regression validation MSE of each candidate's NTK, at initialisation (kernel) or after
    ``warmup_steps`` of real training (warm), or by the warmed model's own validation MSE (warm-val)."""
    from tsreprog.errors import BackboneError
    from tsreprog.ntk.select import plot_spectra, score_candidate
    from tsreprog.ntk.settings import METHOD_SCORES

    warm = settings.method != "kernel"
    key, meaning = METHOD_SCORES[settings.method]
    scores, skipped = [], []
    for candidate in candidates:
        log(f"scoring {candidate.label}")
        try:
            scores.append(score_candidate(candidate, base, x, y, n_train, settings.mode, settings.probes,
                                          settings.ridge, settings.seed, budget_steps=settings.budget_steps,
                                          learning_rate=settings.learning_rate,
                                          warmup_steps=settings.warmup_steps if warm else 0, warmup_windows=pool,
                                          batch_size=settings.batch_size,
                                          warm_kernel=settings.method == "warm", device=device))
        except BackboneError as exc:
            if "cannot keep" not in str(exc):
                raise
            skipped.append({"candidate": candidate.label, "reason": str(exc)})
    if not scores:
        raise TsreprogError("no candidate could be scored: " + "; ".join(s["reason"] for s in skipped))
    for s in scores:
        s.score = s.figures[key]
    scores.sort(key=lambda s: s.score)
    print(f"{'rank':>4}  {'candidate':<28} {'score':>9} {'λ_max':>10} {'λ_min':>10} {'cond':>10} {'eff.rank':>8} "
          f"{'KTA':>6} {'sec':>6}")
    for rank, s in enumerate(scores, 1):
        f = s.figures
        print(f"{rank:>4}  {s.candidate.label:<28} {s.score:>9.4f} {f['lambda_max']:>10.3g} {f['lambda_min']:>10.3g} "
              f"{f['condition_number']:>10.3g} {f['effective_rank']:>8.2f} {f['kernel_target_alignment']:>6.3f} "
              f"{s.seconds:>6.1f}")
    for item in skipped:
        print(f"skipped {item['candidate']}: {item['reason']}")
    ties = None
    if all("warm_val_errors" in s.figures for s in scores) and len(scores) > 1:
        from tsreprog.ntk.ties import leading_group

        ties = leading_group({s.candidate.label: s.figures.pop("warm_val_errors") for s in scores},
                             {s.candidate.label: s.figures["parameters"] for s in scores}, seed=settings.seed)
        print(f"tied with the leader ({ties['method']}, {ties['windows']} windows, {ties['level']:.0%}): "
              f"{', '.join(ties['group'])}; pick: {ties['pick']} (the cheapest of them)")
    for s in scores:
        s.figures.pop("warm_val_errors", None)
    plot_spectra(scores, plot_path)
    return {"lookback": settings.lookback, "horizon": settings.horizon, "n_train": settings.n_train,
            "n_val": settings.n_val, "mode": settings.mode, "probes": settings.probes,
            "score": f"{key}: {meaning.format(steps=settings.warmup_steps)} (lower is better)",
            "ranking": [{"rank": i + 1, "candidate": s.candidate.label, "backbone": s.candidate.backbone,
                         "n_layers": s.candidate.n_layers, "score": s.score, "seconds": s.seconds, **s.figures}
                        for i, s in enumerate(scores)],
            "eigenvalues": {s.candidate.label: s.eigenvalues for s in scores}, "skipped": skipped,
            **({"ties": ties, "pick": ties["pick"]} if ties else {})}


def rank_by_halving(settings, candidates, base, pool, val, log, device="cpu") -> dict:
    """Rank without a kernel: successive halving over the candidates (tsreprog.ntk.halving)."""
    from tsreprog.ntk.halving import successive_halving

    result = successive_halving(candidates, base, pool, val, settings.budget_steps, settings.first_rung_steps,
                                settings.learning_rate, batch_size=settings.batch_size, seed=settings.seed,
                                log=log, device=device)
    print(f"{'rank':>4}  {'candidate':<28} {'val MSE':>9} {'steps':>6} {'sec':>7}")
    for rank, row in enumerate(result.ranking, 1):
        print(f"{rank:>4}  {row['candidate']:<28} {row['val_mse']:>9.4f} {row['steps']:>6} {row['seconds']:>7.1f}")
    for item in result.skipped:
        print(f"skipped {item['candidate']}: {item['reason']}")
    print(f"cost: {100 * result.cost_fraction_steps:.0f}% of the steps, {100 * result.cost_fraction_seconds:.0f}% of "
          f"the time of training every candidate for {settings.budget_steps} steps")
    return {"score": "validation MSE at the last rung reached (lower is better)",
            "ranking": [{"rank": i + 1, **row} for i, row in enumerate(result.ranking)], "rungs": result.rungs,
            "cost_fraction_steps": result.cost_fraction_steps,
            "cost_fraction_seconds": result.cost_fraction_seconds, "skipped": result.skipped}
