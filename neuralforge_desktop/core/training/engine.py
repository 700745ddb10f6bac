"""The training loop. It runs in a worker process (see ``worker.py``), reports through events and the store,
checkpoints every epoch and every few minutes, and resumes exactly: the shuffle order is a function of
(seed, epoch), augmentation of (seed, epoch, step), and the global RNG state is saved with each checkpoint,
so a resumed run produces the same weights as an uninterrupted one on the same device.

Where the loop stands is a :class:`LoopState` (``loop_state.py``), what it trains with is built once by
``parts.py``, and validation and the final report live in ``evaluation.py``."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neuralforge_desktop.core.disk_full import DiskFullError, is_disk_full, writing
from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.store.entities import StoreError
from neuralforge_desktop.core.training.checkpoints import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from neuralforge_desktop.core.training.coach.capture import DiagnosticsCapture, start_capture
from neuralforge_desktop.core.training.coach.live import CoachHook
from neuralforge_desktop.core.training.coach.records import RunDiagnostics
from neuralforge_desktop.core.training.config import TrainConfig
from neuralforge_desktop.core.training.distributed import World
from neuralforge_desktop.core.training.evaluation import final_report, perplexity, validation_metrics
from neuralforge_desktop.core.training.events import (
    CheckpointEvent,
    EpochEvent,
    FailedEvent,
    FinishedEvent,
    PausedEvent,
    ResumedEvent,
    Sink,
    StartedEvent,
    StepEvent,
    StoppedEvent,
)
from neuralforge_desktop.core.training.hooks import TrainingHooks
from neuralforge_desktop.core.training.loop_state import EpochTally, LoopState
from neuralforge_desktop.core.training.parts import TrainingParts, build_parts
from neuralforge_desktop.core.training.setup import load_initial_weights

TOKENIZER_FILE = "tokenizer.json"


class LossNotFiniteError(UserError):
    """The loss became NaN or infinite: the run ends with this message rather than train on garbage."""


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
                 store: Any | None = None, control: Control | None = None, world: World | None = None,
                 hooks: TrainingHooks | None = None) -> None:
        self.graph = graph
        self.config = config.validate()
        self.run_id = run_id
        self.run_dir = run_dir
        self.sink = sink
        self.store = store
        self.control = control or Control(None)
        self.checkpoints = run_dir / "checkpoints"
        self.world = world or World()  # several processes under torchrun: see distributed.py
        # What the Coach reads: the captured diagnostics so far, kept here whether or not a store records them.
        self.diagnostics = RunDiagnostics(level=self.config.diagnostics)
        self.capture: DiagnosticsCapture | None = None  # None at --diagnostics off, and on ranks other than 0
        self.coach = CoachHook()  # the training Coach, once the run is built (see coach/live.py)
        self.hooks = hooks or TrainingHooks()  # in-process adaptations: pruning masks, a distillation loss

    def _log(self, metrics: dict[str, float | None], step: int) -> None:
        if self.store is not None:
            self.store.log_metrics(self.run_id, {k: v for k, v in metrics.items() if v is not None}, step)

    # -- the run -------------------------------------------------------------------------------------
    def run(self, resume: bool = False) -> TrainResult:
        try:
            return self._run(resume)
        except Exception as exc:
            if is_disk_full(exc) and not isinstance(exc, UserError):  # a write no one named: name its file
                exc = DiskFullError(str(getattr(exc, "filename", None) or f"a file of run {self.run_id}"))
            # A UserError (a graph that does not fit its data, bad settings, a full disk) goes out as its message
            # alone; anything else is ours to fix, and goes out with its traceback.
            failure = FailedEvent.from_exception(self.run_id, exc)
            self.coach.finish("failed")  # what it found up to the failure (a NaN loss, say) is kept
            if self.store is not None:
                try:
                    self.store.set_status(self.run_id, "failed", reason=failure.error)
                except StoreError as store_exc:  # the disk may still be full: the event says why all the same
                    failure = dataclasses.replace(failure, error=f"{failure.error}; the store could not record "
                                                                 f"the failure: {store_exc}")
            self.sink(failure)
            return TrainResult("failed", None, None, 0)

    def _run(self, resume: bool) -> TrainResult:
        parts = build_parts(self.graph, self.config)
        if self.config.init and not resume:  # a resumed run's checkpoint already holds what it started from
            load_initial_weights(parts.model, self.run_dir / self.config.init)
        state = self._restore(parts) if resume else LoopState()
        if self.hooks.prepare_model is not None:
            self.hooks.prepare_model(parts.model)
        parts.ddp = self.world.wrap(parts.model, parts.device)
        self.diagnostics, self.capture = start_capture(parts, self.config.diagnostics, self.store, self.run_id,
                                                       main=self.world.main, resume=resume)
        if not self.world.main:  # the carried sums of a mid-epoch checkpoint are rank 0's: counted once
            state.carried_loss, state.carried_correct, state.carried_seen = 0.0, 0, 0
        if self.store is not None:
            self.store.set_status(self.run_id, "running")  # this process owns the run now
            self._record_checksum(self.store, parts.bundle)
            self._audit_dataset(self.store, parts.bundle)
        if parts.bundle.tokenizer is not None:
            self._save_tokenizer(parts.bundle.tokenizer)
        self._announce(parts, state)
        self.coach = CoachHook.start(self, parts, resumed=resume)
        state.started_at = state.last_checkpoint_at = time.monotonic()
        stopped = False
        while state.epoch < self.config.epochs:
            tally = self._train_epoch(parts, state)
            if tally is None:
                stopped = True
                break
            if self._end_epoch(parts, state, tally):  # early stopping
                break
        seconds = time.monotonic() - state.started_at
        if self.store is not None:
            device, busy = parts.device.type, seconds * self.world.size  # every process held a CPU or a GPU
            self.store.add_usage(self.run_id, cpu_seconds=busy if device == "cpu" else 0.0,
                                 gpu_seconds=busy if device == "cuda" else 0.0)
        if stopped:
            self.coach.finish("stopped")
            if self.store is not None:  # the store first, so whoever sees the event reads the final status
                self.store.set_status(self.run_id, "stopped")
            self.sink(StoppedEvent(run_id=self.run_id, epoch=state.epoch, step=state.global_step))
            return TrainResult("stopped", state.best, state.best_epoch, state.epoch)
        self._finish(parts, state, seconds)
        return TrainResult("finished", state.best, state.best_epoch, state.epoch)

    def _restore(self, parts: TrainingParts) -> LoopState:
        import torch

        tag = latest_checkpoint(self.checkpoints)
        if tag is None:
            raise RuntimeError(f"run {self.run_id} has no checkpoint to resume from")
        saved = load_checkpoint(self.checkpoints, tag, parts.model, parts.device)
        try:
            parts.optimizer.load_state_dict(saved["optimizer"])
            parts.scheduler.load_state_dict(saved["scheduler"])
            parts.scaler.load_state_dict(saved["scaler"])
            torch.set_rng_state(saved["rng_cpu"])
            if parts.device.type == "cuda" and saved.get("rng_cuda") is not None:
                torch.cuda.set_rng_state(saved["rng_cuda"])
            return LoopState.from_checkpoint(saved["loop"])
        except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:  # a state for another run
            raise CheckpointError(f"{self.checkpoints / f'{tag}.state.json'}: does not fit this run "
                                  f"({type(exc).__name__}: {exc})") from None

    def _announce(self, parts: TrainingParts, state: LoopState) -> None:
        bundle, cfg = parts.bundle, self.config
        params = sum(p.numel() for p in {id(p): p for p in parts.model.parameters()}.values())
        self.sink(StartedEvent(
            run_id=self.run_id, device=str(parts.device), amp=parts.amp, params=params, loss=parts.setup.loss_name,
            dataset={"name": bundle.name, "task": bundle.task, "train": len(bundle.train), "val": len(bundle.val),
                     "input_shape": list(bundle.input_shape), "classes": bundle.num_classes,
                     "fingerprint": bundle.fingerprint,
                     "inputs": dict(zip(parts.model.input_names, parts.input_fields, strict=True))},
            epochs=cfg.epochs, steps_per_epoch=parts.steps_per_epoch, resumed_from=state.global_step or None,
            config=cfg.to_json()))

    def _train_epoch(self, parts: TrainingParts, state: LoopState) -> EpochTally | None:
        """Train the rest of the current epoch; its sums, or None if a stop request ended it (checkpointed)."""
        import torch

        cfg = self.config
        parts.model.train()
        shuffle = torch.Generator().manual_seed(cfg.seed * 100_003 + state.epoch)
        order = torch.randperm(len(parts.y_train), generator=shuffle).to(parts.device)
        tally = EpochTally.start(state, parts.device)
        for step in range(state.step_in_epoch, parts.steps_per_epoch):
            command = self.world.agree(self.control.command())
            if command == "pause":
                command = self.world.agree(self._pause())
            if command == "stop":
                state.carry(tally)
                self._checkpoint(parts, state, f"step-{state.global_step:08d}")
                return None
            batch = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            self._train_step(parts, state, tally, self.world.shard(batch), step)
            if time.monotonic() - state.last_checkpoint_at > cfg.checkpoint_minutes * 60:
                state.carry(tally)
                self._checkpoint(parts, state, f"step-{state.global_step:08d}")
                state.last_checkpoint_at = time.monotonic()
        return tally

    def _train_step(self, parts: TrainingParts, state: LoopState, tally: EpochTally, index: Any, step: int) -> None:
        import torch

        cfg = self.config
        xb, yb = tuple(x[index] for x in parts.x_train), parts.y_train[index]
        if cfg.augment_flip or cfg.augment_crop:
            xb = tuple(_augment(x, cfg, state.epoch, step) if x.is_floating_point() and x.dim() == 4 else x
                       for x in xb)
        capture = self.capture
        if capture is not None:
            capture.start_step(state.global_step + 1)
        with torch.autocast(parts.device.type, dtype=parts.amp_dtype, enabled=parts.amp):
            out = parts.forward(*xb)
            loss = parts.setup.loss_fn(out, yb) if self.hooks.loss is None else self.hooks.loss(out, yb, xb)
        if capture is not None:
            capture.check_loss(loss, xb, state.global_step + 1)
        optimizer, scaler = parts.optimizer, parts.scaler
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if cfg.grad_clip:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(parts.model.parameters(), cfg.grad_clip)
        if capture is not None:
            capture.after_backward(scaler, unscaled=bool(cfg.grad_clip))
        scaler.step(optimizer)
        scaler.update()
        parts.scheduler.step()
        n = len(index)
        tally.loss_sum += loss.detach().double() * n
        if parts.task == "classification":
            tally.correct += (out.detach().argmax(dim=1) == yb).sum()
        tally.seen += n
        state.global_step += 1
        state.step_in_epoch = step + 1
        if capture is not None:
            capture.after_update(state.global_step)
        if state.global_step % cfg.log_every == 0:
            value = float(loss.detach())
            # Summed over a data-parallel job's processes, so that a NaN on any of them stops all at this step
            # (one stopping alone would leave the others waiting for it in the next gradient exchange).
            (everywhere,) = self.world.sum(value)
            self.coach.step(state.global_step, value)  # first: a NaN loss is worth a finding before anything else
            if not math.isfinite(everywhere):  # nothing more can be learned; the Coach's finding above says why
                raise self._not_finite(value if not math.isfinite(value) else everywhere, state.global_step)
            lr = optimizer.param_groups[0]["lr"]
            elapsed = max(time.monotonic() - tally.started_at, 1e-9)
            self.sink(StepEvent(run_id=self.run_id, epoch=state.epoch + 1, step=state.global_step, loss=value,
                                lr=lr, samples_per_s=tally.seen / elapsed))
            self._log({"train/loss_step": value, "lr": lr}, state.global_step)

    def _end_epoch(self, parts: TrainingParts, state: LoopState, tally: EpochTally) -> bool:
        """Validate, report and checkpoint a completed epoch; True if early stopping ends the run here."""
        cfg = self.config
        if self.capture is not None:
            self.capture.end_epoch(state.epoch + 1, state.global_step)
        loss_total, correct_total, seen_total = tally.totals()
        if self.world.parallel:
            loss_total, correct_sum, seen_sum = self.world.sum(loss_total, correct_total, seen_total)
            correct_total, seen_total = int(correct_sum), int(seen_sum)
        train_loss = loss_total / max(seen_total, 1)
        if not math.isfinite(train_loss):  # a NaN between two logged steps: the Coach hears of it here
            self.coach.step(state.global_step, train_loss)
            raise self._not_finite(train_loss, state.global_step)
        train_acc = correct_total / max(seen_total, 1) if parts.task == "classification" else None
        train_perplexity = perplexity(train_loss) if parts.task == "language-modeling" else None
        val = validation_metrics(parts)
        state.next_epoch()
        epoch_seconds = time.monotonic() - tally.started_at
        metrics: dict[str, float | None] = {
            "train/loss": train_loss, "train/acc": train_acc, "train/perplexity": train_perplexity,
            **{f"val/{k}": v for k, v in val.items()},
            "lr": parts.optimizer.param_groups[0]["lr"], "epoch_seconds": epoch_seconds}
        if self.world.parallel:  # what each process got through: the job's speed is this times world size
            metrics["train/samples_per_s_per_rank"] = seen_total / self.world.size / epoch_seconds
        self._log(metrics, state.global_step)
        key = ranking_metric(parts.task, has_val=parts.x_val is not None)
        ranked = metrics.get(key)
        better = state.rank(ranked if ranked is not None else train_loss, higher_is_better=key == "val/acc")
        self.sink(EpochEvent(run_id=self.run_id, epoch=state.epoch, epochs=cfg.epochs, step=state.global_step,
                             metrics={k: v for k, v in metrics.items() if v is not None}, best=state.best,
                             best_epoch=state.best_epoch))
        self.coach.epoch_end(state.global_step, metrics)
        self._checkpoint(parts, state, f"epoch-{state.epoch:04d}")
        if better and self.world.main:
            with writing(f"the best checkpoint in {self.checkpoints / 'best'}"):
                save_checkpoint(self.checkpoints / "best", "best", parts.model, {"epoch": state.epoch})
        state.last_checkpoint_at = time.monotonic()
        if cfg.early_stopping and state.stale_epochs >= cfg.early_stopping:
            self.sink(EpochEvent(run_id=self.run_id, epoch=state.epoch, epochs=cfg.epochs, step=state.global_step,
                                 note=f"early stopping: no better {key} for {cfg.early_stopping} epochs"))
            return True
        return False

    def _not_finite(self, value: float, step: int) -> LossNotFiniteError:
        self._log({"train/loss_step": value}, step)  # recorded, so the Coach finds it again from the store
        return LossNotFiniteError(f"training stopped: the loss became {value} at step {step} (see the Coach's "
                                  f"loss_nan finding: `neuralforge coach {self.run_id}`)")

    def _checkpoint(self, parts: TrainingParts, state: LoopState, tag: str) -> None:
        import torch

        if not self.world.main:  # rank 0 writes the job's checkpoints (the weights are the same everywhere)
            return

        # A checkpoint cut short by a full disk is never named in latest.json: the previous one stays the last.
        with writing(f"checkpoint {tag} in {self.checkpoints}"):
            save_checkpoint(self.checkpoints, tag, parts.model, {
                "optimizer": parts.optimizer.state_dict(), "scheduler": parts.scheduler.state_dict(),
                "scaler": parts.scaler.state_dict(), "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if parts.device.type == "cuda" else None,
                "loop": state.to_checkpoint(), "epoch": state.epoch, "global_step": state.global_step})
        if self.store is not None:
            self.store.flush()
        self.sink(CheckpointEvent(run_id=self.run_id, tag=tag, epoch=state.epoch, step=state.global_step,
                                  path=str(self.checkpoints / f"{tag}.safetensors")))

    def _finish(self, parts: TrainingParts, state: LoopState, seconds: float) -> None:
        self.coach.finish("finished")
        final = final_report(parts)
        if self.world.parallel:
            digests = self.world.weight_digests(parts.model)
            if self.store is not None:
                self.store.set_tags(self.run_id, {"world_size": self.world.size, "backend": self.world.backend,
                                                  "ranks_agree": len(set(digests)) == 1})
        if self.store is not None:
            self._log({f"final/{k}": v for k, v in final.items() if isinstance(v, float)}, state.global_step)
            last = latest_checkpoint(self.checkpoints)
            if last is not None:
                self.store.log_artifact(self.run_id, self.checkpoints / f"{last}.safetensors", "model.safetensors",
                                        kind="weights")
            self.store.set_tags(self.run_id, {"best_epoch": state.best_epoch})
            self.store.set_status(self.run_id, "finished")
        self.sink(FinishedEvent(run_id=self.run_id, best=state.best, best_epoch=state.best_epoch,
                                epochs=state.epoch, steps=state.global_step, seconds=seconds, final=final))

    def _save_tokenizer(self, text: str) -> None:
        """The dataset's tokenizer (JSON) beside the run and among its artifacts: what turns new text into the
        ids this model was trained on."""
        from neuralforge_desktop.core.ir.atomic import write_text_atomic

        path = self.run_dir / TOKENIZER_FILE
        with writing(str(path)):
            write_text_atomic(path, text)
        if self.store is not None:
            self.store.log_artifact(self.run_id, path, TOKENIZER_FILE, kind="tokenizer")

    def _pause(self) -> str:
        if self.store is not None:  # store first, event second: a reader of the event sees the new status
            self.store.set_status(self.run_id, "paused")
        self.sink(PausedEvent(run_id=self.run_id))
        while (command := self.control.command()) == "pause":
            time.sleep(0.1)
        if self.store is not None:
            self.store.set_status(self.run_id, "running")
        self.sink(ResumedEvent(run_id=self.run_id))
        return command

    def _audit_dataset(self, store: Any, bundle: Any) -> None:
        from neuralforge_desktop.core.audit import record_event

        if not hasattr(store, "get_run"):  # a remote host's recorder: the log is in the store on the user's machine
            return
        record_event(store, "dataset.read", bundle.name, {"fingerprint": bundle.fingerprint, "run_id": self.run_id,
                                                          "train": len(bundle.train), "val": len(bundle.val)})

    def _record_checksum(self, store: Any, bundle: Any) -> None:
        from neuralforge_desktop.core.ir.serialize import graph_to_dict
        from neuralforge_desktop.core.store.environment import environment_snapshot, reproducibility_checksum

        env = environment_snapshot()
        # Kept beside where it ran: where the graph came from (recorded when the run was made) and the data it
        # read, by name and content fingerprint, which is what lineage follows from a model back to its data.
        read_back = getattr(store, "get_run", None)  # a remote host's recorder cannot read the run back
        made_with = read_back(self.run_id).environment.get("source") if read_back is not None else None
        if made_with is not None:
            env["source"] = made_with
        env["dataset"] = {"name": bundle.name, "fingerprint": bundle.fingerprint}
        checksum = reproducibility_checksum(graph_to_dict(self.graph), self.config.to_json(), bundle.fingerprint,
                                            self.config.seed, env)
        store.update_run(self.run_id, checksum=checksum, environment=env)


def ranking_metric(task: str, has_val: bool) -> str:
    """The metric that picks the best epoch (and that early stopping watches): validation accuracy or loss,
    or, with no validation split, the training loss (lower is better), never mistaken for an accuracy."""
    if not has_val:
        return "train/loss"
    return "val/acc" if task == "classification" else "val/loss"


def _augment(xb: Any, cfg: TrainConfig, epoch: int, step: int) -> Any:
    import torch

    from neuralforge_desktop.core.training.datasets.augment import augment_batch

    # modulo 2**64, what manual_seed takes: a large --seed would overflow it (and smaller ones are unchanged)
    seed = ((cfg.seed * 1_000_003 + epoch) * 1_000_003 + step) % 2**64
    generator = torch.Generator(device=xb.device).manual_seed(seed)
    return augment_batch(xb, generator, flip=cfg.augment_flip, crop_padding=cfg.augment_crop)
