"""Lightning module: trains only the forecaster's trainable parameters and reports the exact validation MSE."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from tsreprog.errors import ConfigError
from tsreprog.train.distributed import all_reduce_sum
from tsreprog.train.metrics import ErrorSums
from tsreprog.reprogram.head import pinball_loss
from tsreprog.models.contract import has_quantile_head, trained_state


class ForecastModule(L.LightningModule):
    def __init__(self, model: nn.Module, learning_rate: float = 1e-3, weight_decay: float = 0.0,
                 schedule: str = "onecycle", backbone_learning_rate: float | None = None) -> None:
        super().__init__()
        self.model = model
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.backbone_learning_rate = backbone_learning_rate
        parameter_groups(model, learning_rate, backbone_learning_rate)  # refuses a rate for nothing before training
        self._val = ErrorSums()

    strict_loading = False  # resume states hold the trainable weights only; the frozen backbone is rebuilt

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        from tsreprog.train.resume import random_states

        trainable = {f"model.{name}" for name in trained_state(self.model)}
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in trainable}
        checkpoint["random_states"] = random_states()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        from tsreprog.train.resume import restore_random_states

        if "random_states" in checkpoint:
            restore_random_states(checkpoint["random_states"])

    def training_step(self, batch, batch_idx):
        x, y = batch
        if has_quantile_head(self.model):
            loss = pinball_loss(self.model.predict_quantiles(x).float(), y, self.model.quantile_levels)
        else:
            loss = nn.functional.mse_loss(self.model(x).float(), y)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(x))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val = ErrorSums()

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self._val.update(self.model(x), y)

    def on_validation_epoch_end(self) -> None:
        # every rank scores its share of the windows: the sums of all of them make the same exact MSE everywhere,
        # so early stopping and the best weights agree across ranks
        self._val.sse, self._val.sae, self._val.count = all_reduce_sum([self._val.sse, self._val.sae,
                                                                        self._val.count])
        metrics = self._val.result("val_")
        self.log("val_mse", metrics["val_mse"], prog_bar=True)
        self.log("val_mae", metrics["val_mae"])

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None) -> None:
        """Clip the global norm here: bf16 autocast scales no loss, so the gradients are the true ones, while
        Lightning's mixed-precision plugin refuses to clip for a fused optimizer (it assumes fp16 loss scaling)."""
        if gradient_clip_val:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.grad is not None],
                                           gradient_clip_val)

    def configure_optimizers(self):
        # fresh groups each call: the optimizer and its schedule write their rates into the dicts they are given
        groups = parameter_groups(self.model, self.learning_rate, self.backbone_learning_rate)
        optimizer = torch.optim.AdamW(groups, lr=self.learning_rate, weight_decay=self.weight_decay, fused=True)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        scheduler = make_scheduler(optimizer, self.schedule, total, -(-total // epochs))
        if scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def parameter_groups(model: nn.Module, learning_rate: float, backbone_learning_rate: float | None = None
                     ) -> list[dict]:
    """The optimizer's parameter groups: everything that trains at ``learning_rate``, or, given
    ``backbone_learning_rate``, the backbone's adapted weights in a group of their own at that rate. Adapters start
    at or near the frozen weights (LoRA's B at zero) and barely move at the rate the input transformation and head
    need, while raising that rate for all harms those; the two rates let each part train at its own."""
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if backbone_learning_rate is None:
        return [{"params": [p for _, p in trainable], "lr": learning_rate}]
    adapted, rest = [], []
    for name, p in trainable:
        (adapted if name.startswith("backbone.") else rest).append(p)
    if not adapted:
        raise ConfigError(f"backbone_learning_rate {backbone_learning_rate:g} given, but nothing in the model's "
                          f"backbone trains (set adapt: layernorm or lora, or leave backbone_learning_rate none)")
    return [{"params": rest, "lr": learning_rate}, {"params": adapted, "lr": backbone_learning_rate}]


def make_scheduler(optimizer: torch.optim.Optimizer, schedule: str, total: int, steps_per_epoch: int | None = None):
    """The per-step learning-rate schedule training uses (None: constant), shared with :func:`learning_rates`; each
    parameter group peaks at the rate it was given. ``halving`` halves the rate after every epoch of
    ``steps_per_epoch`` steps (DLinear's published recipe); a budget within one epoch keeps it constant."""
    if schedule == "halving":
        epoch_steps = max(steps_per_epoch or total, 1)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 ** (step // epoch_steps))
    if schedule == "constant" or total < 4:  # too few steps for a warm-up phase to mean anything
        return None
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    peaks = [group["lr"] for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total,
                                               pct_start=min(0.5, max(0.2, 2.0 / total)))


def learning_rates(schedule: str, learning_rate: float, total: int, steps_per_epoch: int | None = None
                   ) -> list[float]:
    """The learning rate of each of ``total`` training steps, exactly as training schedules them (used by the NTK
    figures that model a finite training budget)."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=learning_rate)
    scheduler = make_scheduler(optimizer, schedule, total, steps_per_epoch)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        if scheduler is not None:
            optimizer.step()
            scheduler.step()
    return rates
