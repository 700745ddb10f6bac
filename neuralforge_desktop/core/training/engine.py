"""The training loop. It runs in a worker process (see ``worker.py``), reports through events and the store,
checkpoints every epoch and every few minutes, and resumes exactly: the shuffle order is a function of
(seed, epoch), augmentation of (seed, epoch, step), and the global RNG state is saved with each checkpoint,
so a resumed run produces the same weights as an uninterrupted one on the same device."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.training.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.events import EVENT_TYPES, FailedEvent, Sink
from neuralforge_desktop.core.training.metrics import (
    confusion_matrix,
    per_class_accuracy,
    resolve_metric,
    topk_correct,
)
from neuralforge_desktop.core.training.setup import bind_dataset, build_setup, pick_device, to_tensors


class Control:
    """Stop / pause requests, read from a small file the CLI, the app or a remote host writes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._checked = 0.0
        self._command = "run"

    def command(self) -> str:
        now = time.monotonic()
        if self.path is not None and now - self._checked > 0.2:
            self._checked = now
            try:
                self._command = json.loads(self.path.read_text()).get("command", "run")
            except (OSError, ValueError):
                self._command = "run"
        return self._command


@dataclass
class TrainResult:
    status: str  # finished | stopped | failed
    best_metric: float | None
    best_epoch: int | None
    epochs_done: int


class Trainer:
    def __init__(self, graph: Any, config: TrainConfig, run_id: str, run_dir: Path, sink: Sink,
                 store: Any | None = None, control: Control | None = None) -> None:
        self.graph = graph
        self.config = config.validate()
        self.run_id = run_id
        self.run_dir = run_dir
        self.sink = sink
        self.store = store
        self.control = control or Control(None)
        self.checkpoints = run_dir / "checkpoints"

    # -- events and the store ------------------------------------------------------------------------
    def _emit(self, kind: str, **fields: Any) -> None:
        self.sink(EVENT_TYPES[kind](run_id=self.run_id, **fields))

    def _log(self, metrics: dict[str, float], step: int) -> None:
        if self.store is not None:
            self.store.log_metrics(self.run_id, {k: v for k, v in metrics.items() if v is not None}, step)

    # -- the run -------------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainResult:
        try:
            return self._run(resume)
        except Exception as exc:
            if self.store is not None:
                self.store.set_status(self.run_id, "failed")
            # A UserError (a graph that does not fit its data, bad settings) goes out as its message alone;
            # anything else is ours to fix, and goes out with its traceback.
            self.sink(FailedEvent.from_exception(self.run_id, exc))
            return TrainResult("failed", None, None, 0)

    def _run(self, resume: bool) -> TrainResult:
        import torch

        from neuralforge_desktop.core.training.datasets import load_dataset

        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        device = pick_device(cfg.device)
        torch.manual_seed(cfg.seed)
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        bundle = load_dataset(cfg.dataset, val_fraction=cfg.val_fraction, seed=cfg.seed, normalize=cfg.normalize,
                              limit=cfg.limit, options=dict(cfg.dataset_options))
        bind_dataset(self.graph, bundle)
        torch.manual_seed(cfg.seed)  # weights start the same whatever loading consumed
        setup = build_setup(self.graph, bundle)
        model = setup.model.to(device)
        task = setup.task
        x_train, y_train = to_tensors(bundle.train, device, task)
        x_val, y_val = to_tensors(bundle.val, device, task) if len(bundle.val) else (None, None)
        steps_per_epoch = math.ceil(len(x_train) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        optimizer = _optimizer(model, cfg)
        scheduler = _scheduler(optimizer, cfg, steps_per_epoch, total_steps)
        amp = cfg.amp if cfg.amp is not None else device.type == "cuda"
        amp_dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)
        extra_metrics = {name: resolve_metric(name) for name in cfg.metrics}

        state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": None, "best_epoch": None,
                 "stale_epochs": 0, "sums": [0.0, 0, 0]}
        if resume:
            tag = latest_checkpoint(self.checkpoints)
            if tag is None:
                raise RuntimeError(f"run {self.run_id} has no checkpoint to resume from")
            saved = load_checkpoint(self.checkpoints, tag, model, device)
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            scaler.load_state_dict(saved["scaler"])
            torch.set_rng_state(saved["rng_cpu"])
            if device.type == "cuda" and saved.get("rng_cuda") is not None:
                torch.cuda.set_rng_state(saved["rng_cuda"])
            state = saved["loop"]
        if self.store is not None:
            self.store.set_status(self.run_id, "running")  # this process owns the run now
            self._record_checksum(bundle, torch)
        params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
        self._emit("started", device=str(device), amp=bool(amp), params=params, loss=setup.loss_name,
                   dataset={"name": bundle.name, "train": len(bundle.train), "val": len(bundle.val),
                            "input_shape": list(bundle.input_shape), "classes": bundle.num_classes,
                            "fingerprint": bundle.fingerprint},
                   epochs=cfg.epochs, steps_per_epoch=steps_per_epoch, resumed_from=state["global_step"] or None,
                   config=cfg.to_json())

        def checkpoint(tag: str) -> None:
            loop = dict(state)
            save_checkpoint(self.checkpoints, tag, model, {
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(), "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if device.type == "cuda" else None,
                "loop": loop, "epoch": state["epoch"], "global_step": state["global_step"]})
            if self.store is not None:
                self.store.flush()
            self._emit("checkpoint", tag=tag, epoch=state["epoch"], step=state["global_step"],
                       path=str(self.checkpoints / f"{tag}.safetensors"))

        last_checkpoint = time.monotonic()
        started = time.monotonic()
        status = "finished"
        while state["epoch"] < cfg.epochs:
            epoch = state["epoch"]
            model.train()
            order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
            order = order.to(device)
            loss_sum = torch.zeros((), device=device, dtype=torch.float64)
            correct = torch.zeros((), device=device, dtype=torch.int64)
            seen = 0
            prev_sum, prev_correct, prev_seen = state["sums"]
            epoch_start = time.monotonic()
            for step in range(state["step_in_epoch"], steps_per_epoch):
                command = self.control.command()
                if command == "pause":
                    command = self._pause()
                if command == "stop":
                    status = "stopped"
                    break
                index = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                xb, yb = x_train[index], y_train[index]
                if cfg.augment_flip or cfg.augment_crop:
                    xb = _augment(xb, cfg, epoch, step)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
                    out = _pick(model(xb), setup.output_index)
                    loss = setup.loss_fn(out, yb)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if cfg.grad_clip:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                n = len(index)
                loss_sum += loss.detach().double() * n
                if task == "classification":
                    correct += (out.detach().argmax(dim=1) == yb).sum()
                seen += n
                state["global_step"] += 1
                state["step_in_epoch"] = step + 1
                if state["global_step"] % cfg.log_every == 0:
                    value = float(loss.detach())
                    lr = optimizer.param_groups[0]["lr"]
                    elapsed = max(time.monotonic() - epoch_start, 1e-9)
                    self._emit("step", epoch=epoch + 1, step=state["global_step"], loss=value, lr=lr,
                               samples_per_s=seen / elapsed)
                    self._log({"train/loss_step": value, "lr": lr}, state["global_step"])
                if time.monotonic() - last_checkpoint > cfg.checkpoint_minutes * 60:
                    state["sums"] = [prev_sum + float(loss_sum), prev_correct + int(correct), prev_seen + seen]
                    checkpoint(f"step-{state['global_step']:08d}")
                    last_checkpoint = time.monotonic()
            if status == "stopped":
                state["sums"] = [prev_sum + float(loss_sum), prev_correct + int(correct), prev_seen + seen]
                checkpoint(f"step-{state['global_step']:08d}")
                break
            total_seen = prev_seen + seen
            train_loss = (prev_sum + float(loss_sum)) / max(total_seen, 1)
            train_acc = (prev_correct + int(correct)) / max(total_seen, 1) if task == "classification" else None
            val = self._evaluate(model, setup, x_val, y_val, device, amp, amp_dtype, extra_metrics) \
                if x_val is not None else {}
            state["epoch"] = epoch + 1
            state["step_in_epoch"] = 0
            state["sums"] = [0.0, 0, 0]
            metrics = {"train/loss": train_loss, "train/acc": train_acc, **{f"val/{k}": v for k, v in val.items()},
                       "lr": optimizer.param_groups[0]["lr"], "epoch_seconds": time.monotonic() - epoch_start}
            self._log(metrics, state["global_step"])
            key = "val/acc" if task == "classification" else "val/loss"
            current = metrics.get(key) if metrics.get(key) is not None else metrics["train/loss"]
            better = state["best"] is None or (current > state["best"] if key == "val/acc" else
                                               current < state["best"])
            if better:
                state["best"], state["best_epoch"], state["stale_epochs"] = current, epoch + 1, 0
            else:
                state["stale_epochs"] += 1
            self._emit("epoch", epoch=epoch + 1, epochs=cfg.epochs, step=state["global_step"],
                       metrics={k: v for k, v in metrics.items() if v is not None}, best=state["best"],
                       best_epoch=state["best_epoch"])
            checkpoint(f"epoch-{epoch + 1:04d}")
            if better:
                save_checkpoint(self.checkpoints / "best", "best", model, {"epoch": epoch + 1})
            last_checkpoint = time.monotonic()
            if cfg.early_stopping and state["stale_epochs"] >= cfg.early_stopping:
                self._emit("epoch", epoch=epoch + 1, epochs=cfg.epochs, step=state["global_step"],
                           metrics={}, note=f"early stopping: no better {key} for {cfg.early_stopping} epochs")
                break
        seconds = time.monotonic() - started
        if self.store is not None:
            self.store.add_usage(self.run_id, cpu_seconds=seconds if device.type == "cpu" else 0.0,
                                 gpu_seconds=seconds if device.type == "cuda" else 0.0)
        if status == "stopped":
            if self.store is not None:  # the store first, so whoever sees the event reads the final status
                self.store.set_status(self.run_id, "stopped")
            self._emit("stopped", epoch=state["epoch"], step=state["global_step"])
            return TrainResult("stopped", state["best"], state["best_epoch"], state["epoch"])
        final = self._final_report(model, setup, bundle, device, amp, amp_dtype)
        if self.store is not None:
            self._log({f"final/{k}": v for k, v in final.items() if isinstance(v, float)}, state["global_step"])
            last = latest_checkpoint(self.checkpoints)
            if last is not None:
                self.store.log_artifact(self.run_id, self.checkpoints / f"{last}.safetensors", "model.safetensors",
                                        kind="weights")
            self.store.set_tags(self.run_id, {"best_epoch": state["best_epoch"]})
            self.store.set_status(self.run_id, "finished")
        self._emit("finished", best=state["best"], best_epoch=state["best_epoch"], epochs=state["epoch"],
                   steps=state["global_step"], seconds=seconds, final=final)
        return TrainResult(status, state["best"], state["best_epoch"], state["epoch"])

    def _pause(self) -> str:
        if self.store is not None:  # store first, event second: a reader of the event sees the new status
            self.store.set_status(self.run_id, "paused")
        self._emit("paused")
        while (command := self.control.command()) == "pause":
            time.sleep(0.1)
        if self.store is not None:
            self.store.set_status(self.run_id, "running")
        self._emit("resumed")
        return command

    def _record_checksum(self, bundle: Any, torch: Any) -> None:
        from neuralforge_desktop.core.ir.serialize import graph_to_dict
        from neuralforge_desktop.core.store.environment import environment_snapshot, reproducibility_checksum

        env = environment_snapshot()
        checksum = reproducibility_checksum(graph_to_dict(self.graph), self.config.to_json(), bundle.fingerprint,
                                            self.config.seed, env)
        self.store.update_run(self.run_id, checksum=checksum, environment=env)

    # -- evaluation ----------------------------------------------------------------------------------
    def _outputs(self, model: Any, setup: Any, x: Any, device: Any, amp: bool, amp_dtype: Any) -> Any:
        import torch

        model.eval()
        chunks = []
        with torch.no_grad(), torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
            for start in range(0, len(x), 1024):
                chunks.append(_pick(model(x[start:start + 1024]), setup.output_index).float())
        model.train()
        return torch.cat(chunks)

    def _evaluate(self, model: Any, setup: Any, x: Any, y: Any, device: Any, amp: bool, amp_dtype: Any,
                  extra: dict[str, Any]) -> dict[str, float]:
        out = self._outputs(model, setup, x, device, amp, amp_dtype)
        result = {"loss": float(setup.loss_fn(out, y))}
        if setup.task == "classification":
            result["acc"] = float((out.argmax(dim=1) == y).float().mean())
            if out.shape[1] > self.config.top_k:
                result[f"top{self.config.top_k}"] = float(topk_correct(out, y, self.config.top_k)) / len(y)
        for name, fn in extra.items():
            result[name] = float(fn(out, y))
        return result

    def _final_report(self, model: Any, setup: Any, bundle: Any, device: Any, amp: bool,
                      amp_dtype: Any) -> dict[str, Any]:
        split_name = "test" if bundle.test is not None and len(bundle.test) else "val"
        split = bundle.test if split_name == "test" else bundle.val
        if split is None or not len(split):
            return {}
        x, y = to_tensors(split, device, setup.task)
        out = self._outputs(model, setup, x, device, amp, amp_dtype)
        report: dict[str, Any] = {"split": split_name, "loss": float(setup.loss_fn(out, y))}
        if setup.task == "classification":
            classes = int(bundle.num_classes or out.shape[1])
            matrix = confusion_matrix(out.argmax(dim=1), y, classes).cpu()
            report["acc"] = float((out.argmax(dim=1) == y).float().mean())
            report["confusion_matrix"] = matrix.tolist()
            report["per_class_acc"] = per_class_accuracy(matrix)
            report["class_names"] = bundle.class_names
        return report


def _pick(out: Any, index: int) -> Any:
    return out[index] if isinstance(out, tuple) else out


def _augment(xb: Any, cfg: TrainConfig, epoch: int, step: int) -> Any:
    import torch

    from neuralforge_desktop.core.training.datasets.augment import augment_batch

    generator = torch.Generator(device=xb.device).manual_seed((cfg.seed * 1_000_003 + epoch) * 1_000_003 + step)
    return augment_batch(xb, generator, flip=cfg.augment_flip, crop_padding=cfg.augment_crop)


def _optimizer(model: Any, cfg: TrainConfig) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _scheduler(optimizer: Any, cfg: TrainConfig, steps_per_epoch: int, total_steps: int) -> Any:
    import torch

    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(total_steps, 1))
    warmup = cfg.warmup_steps

    def factor(step: int) -> float:
        scale = min(1.0, (step + 1) / warmup) if warmup else 1.0
        if cfg.schedule == "cosine":
            progress = min(max(step - warmup, 0) / max(total_steps - warmup, 1), 1.0)
            scale *= 0.5 * (1 + math.cos(math.pi * progress))
        elif cfg.schedule == "step":
            scale *= cfg.gamma ** ((step // steps_per_epoch) // max(cfg.step_size, 1))
        return scale

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
