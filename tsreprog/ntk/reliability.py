"""How well each selection method has been measured to predict trained accuracy, so `tsreprog select` can say it
beside its pick. Figures come from benchmarks/select_validity.py (select_validity.json; see benchmarks/README.md):
Spearman rho of the method's score against trained test MSE (positive: it ranks as training does; 1 is perfect), the
pick's gap to the best candidate (a fraction), and the candidate set and budget they hold for."""

from __future__ import annotations

WHERE = ("ETTh1/ETTm1: 8 candidates (MiniLM x1/2/4/6, random-init MiniLM x2/6, SmolLM2 x2/4), 120-step budget, "
         "against trained test MSE (ETTh1: 3 seeds averaged; ETTm1: 1 seed), select_validity.json; converged: "
         "against the standard profile's 3-seed test MSE at H=96, select_validity_standard.json, ETTh1 9 candidates "
         "(no backbone, MiniLM x1/2/4/6, x2 compact and no prompt, random-init x2/6), ETTh2 5 (no backbone, MiniLM "
         "x2 full, compact and no prompt, random-init x2); 10%: against the fewshot10 profile's 3-seed test MSE at "
         "H=96, 7 candidates (no backbone, MiniLM x2 compact, +LayerNorm, +LoRA, no prompt, random-init x2 compact, "
         "+LayerNorm), every method's windows and warm-up drawn from the kept 10% (select_validity_fewshot10.json; "
         "warm-val's cost in steps from select_noise_fewshot10.json); ETTh1 10%, 10 candidates: those 7, MiniLM "
         "x1/x6 and DINOv2 x2; ETTh2 10%, 11 candidates: those 10 and DINOv2 x4; ETTm1 10%, 10 candidates: "
         "the ETTh2 11 less MiniLM x6, select_validity_fewshot10_candidates.json")
MEASURED = {
    "kernel": {"figure": "krr_val_mse at initialisation", "where": WHERE,
               "studies": {"ETTh1": {"rho": -0.67, "pick_gap": 0.067, "cost_fraction": 0.11},
                           "ETTm1": {"rho": -0.07, "pick_gap": 0.061, "cost_fraction": 0.12},
                           "ETTh1 converged": {"rho": 0.25, "pick_gap": 0.070, "cost_fraction": 0.009},
                           "ETTh2 converged": {"rho": 0.00, "pick_gap": 0.074, "cost_fraction": 0.011},
                  "ETTh1 10%": {"rho": 0.11, "pick_gap": 0.242, "cost_fraction": 0.057},
                  "ETTh2 10%": {"rho": 0.71, "pick_gap": 0.0, "cost_fraction": 0.030},
                  "ETTm1 10%": {"rho": 0.79, "pick_gap": 0.028, "cost_fraction": 0.007},
                  "ETTh1 10%, 10 candidates": {"rho": -0.03, "pick_gap": 0.265,
                                               "cost_fraction": 0.022},
                  "ETTh2 10%, 11 candidates": {"rho": 0.85, "pick_gap": 0.152,
                                               "cost_fraction": 0.037},
                  "ETTm1 10%, 10 candidates": {"rho": 0.79, "pick_gap": 0.008,
                                               "cost_fraction": 0.009}}},
    "warm": {"figure": "krr_val_mse after 6 training steps", "where": WHERE,
             "studies": {"ETTh1": {"rho": -0.05, "pick_gap": 0.044, "cost_fraction": 0.16},
                         "ETTm1": {"rho": -0.02, "pick_gap": 0.078, "cost_fraction": 0.17},
                         "ETTh1 converged": {"rho": 0.13, "pick_gap": 0.075, "cost_fraction": 0.029},
                         "ETTh2 converged": {"rho": 0.80, "pick_gap": 0.0, "cost_fraction": 0.030},
                  "ETTh1 10%": {"rho": 0.11, "pick_gap": 0.246, "cost_fraction": 0.086},
                  "ETTh2 10%": {"rho": -0.86, "pick_gap": 0.401, "cost_fraction": 0.037},
                  "ETTm1 10%": {"rho": 0.86, "pick_gap": 0.004, "cost_fraction": 0.008},
                  "ETTh1 10%, 10 candidates": {"rho": -0.14, "pick_gap": 0.265,
                                               "cost_fraction": 0.028},
                  "ETTh2 10%, 11 candidates": {"rho": 0.08, "pick_gap": 0.339,
                                               "cost_fraction": 0.045},
                  "ETTm1 10%, 10 candidates": {"rho": 0.90, "pick_gap": 0.008,
                                               "cost_fraction": 0.011}}},
    "warm-val": {"figure": "the warmed model's own validation MSE (6 warm-up steps; 50 in the converged study)",
                 "where": WHERE,
                 "studies": {"ETTh1": {"rho": -0.14, "pick_gap": 0.0, "cost_fraction": 0.16},
                             "ETTm1": {"rho": 0.07, "pick_gap": 0.0, "cost_fraction": 0.17},
                             "ETTh1 converged": {"rho": 0.35, "pick_gap": 0.0, "cost_fraction": 0.029},
                             "ETTh2 converged": {"rho": 0.30, "pick_gap": 0.0, "cost_fraction": 0.030},
                  # 10%: warmed up on the kept 10% of the windows (select_noise_fewshot10.json, seed 0)
                  "ETTh1 10%": {"rho": -0.36, "pick_gap": 0.249, "cost_fraction": 0.007},
                  "ETTh2 10%": {"rho": -0.93, "pick_gap": 0.352, "cost_fraction": 0.008},
                  "ETTm1 10%": {"rho": -0.11, "pick_gap": 0.200, "cost_fraction": 0.002},
                  "ETTh1 10%, 10 candidates": {"rho": -0.20, "pick_gap": 0.470,
                                               "cost_fraction": 0.028},
                  "ETTh2 10%, 11 candidates": {"rho": -0.94, "pick_gap": 0.462,
                                               "cost_fraction": 0.045},
                  "ETTm1 10%, 10 candidates": {"rho": -0.64, "pick_gap": 0.224,
                                               "cost_fraction": 0.011}}},
    "halving": {"figure": "successive halving from 4 steps", "where": WHERE,
                "studies": {"ETTh1": {"rho": 0.10, "pick_gap": 0.0, "cost_fraction": 0.14},
                            "ETTm1": {"rho": -0.40, "pick_gap": 0.13, "cost_fraction": 0.14},
                            "ETTh1 converged": {"rho": 0.47, "pick_gap": 0.082, "cost_fraction": 0.039},
                            "ETTh2 converged": {"rho": 0.60, "pick_gap": 0.065, "cost_fraction": 0.027},
                  "ETTh1 10%": {"rho": -0.36, "pick_gap": 0.249, "cost_fraction": 0.023},
                  "ETTh2 10%": {"rho": -0.04, "pick_gap": 0.251, "cost_fraction": 0.024},
                  "ETTm1 10%": {"rho": -0.11, "pick_gap": 0.200, "cost_fraction": 0.005},
                  "ETTh1 10%, 10 candidates": {"rho": -0.21, "pick_gap": 0.241,
                                               "cost_fraction": 0.024},
                  "ETTh2 10%, 11 candidates": {"rho": -0.53, "pick_gap": 0.462,
                                               "cost_fraction": 0.034},
                  "ETTm1 10%, 10 candidates": {"rho": -0.67, "pick_gap": 0.224,
                                               "cost_fraction": 0.006}}},
}
TARGET = "rho >= 0.8 on ETTh1 and ETTm1, a pick within the seed spread of the best, at most 5% of the cost"
# What a ranking by validation needs before its pick holds on every seed: replayed from the bench cells' learning
# curves (select_curves.json), the fewest whole epochs of every candidate, and what they cost of training them all
CURVES = {"epochs": (1, 3), "cost_fraction": (0.25, 0.59),
          "sets": "10% ETTh1/ETTh2/ETTm1, 5% ETTh1, full-data ETTh1, where the candidates differ by over 4 seed sd"}


def budget_line() -> str:
    """Where a validation ranking became trustworthy: the price of a pick you can rely on."""
    low, high = CURVES["epochs"]
    return (f"a ranking by validation picked within the seed spread on every seed only after {low}-{high} full epochs "
            f"of every candidate ({100 * CURVES['cost_fraction'][0]:.0f}-{100 * CURVES['cost_fraction'][1]:.0f}% of "
            f"training them all; {CURVES['sets']}): where the pick matters, train the candidates (`tsreprog bench`)")


def reliability_line(method: str) -> str:
    """One line saying how far ``method`` can be trusted (or that it has not been measured)."""
    measured = MEASURED.get(method)
    if measured is None:
        return f"reliability of '{method}': not measured yet (target: {TARGET})"
    parts = [f"{name} rho {s['rho']:+.2f}, pick {100 * s['pick_gap']:.0f}% off the best"
             for name, s in measured["studies"].items()]
    studies = measured["studies"]
    if all(s["pick_gap"] == 0 for s in studies.values()):
        verdict = (f"its pick was the best candidate in all {len(studies)} studies, but no rho reaches the target "
                   f"({TARGET}): trust the first place, not the order of the rest")
    else:
        verdict = f"below the target ({TARGET}): use the ranking as a hint, not a choice"
    return (f"reliability of '{method}' ({measured['figure']}): " + "; ".join(parts) + f" [{measured['where']}] "
            f"- {verdict}; {budget_line()}")


def reliability_summary(method: str) -> str:
    """The same in one readable line (what select prints; the full line, study by study, goes to select.json)."""
    measured = MEASURED.get(method)
    if measured is None:
        return reliability_line(method)
    studies = measured["studies"].values()
    best = sum(s["pick_gap"] == 0 for s in studies)
    rhos = [s["rho"] for s in studies]
    return (f"reliability of '{method}', measured in {len(studies)} studies: its pick was the best candidate in "
            f"{best}, at worst {100 * max(s['pick_gap'] for s in studies):.0f}% off; rho {min(rhos):+.2f} to "
            f"{max(rhos):+.2f}, below the target ({TARGET}); {budget_line()} (every study: select.json, "
            "'reliability')")

