"""Training a team's GAN, child side: the loop, run by ``python -m harness.entry.worker train``.

One discriminator step per batch, one generator step every ``n_critic`` batches, an EMA of G,
checkpoints and labelled sample grids every ``checkpoint_every`` epochs, at ``max_steps`` and on
Ctrl-C, a step record in ``metrics.jsonl`` every few steps and a loss-curve PNG. Everything
random is either checkpointed or a pure function of (seed, epoch, batch), so ``--resume``
replays exactly what an uninterrupted run would have done.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import signal
import sys
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from harness import atomic
from harness.errors import DiskFullError, HarnessError, Interrupted
from harness.training import metrics_log, runs
from harness.training.resume import check_resumable, run_settings
from harness.training.trial_params import space_overrides

GRID_COLUMNS = 8


def ema_with_warmup(decay: float) -> Any:
    """EMA update whose decay ramps up as ``(1 + n) / (10 + n)`` until it reaches ``decay``.

    A plain 0.999 average would sit near the random initial weights for the first thousand
    steps, so early sample grids and short runs would show noise; the ramp (as in TensorFlow's
    ExponentialMovingAverage with ``num_updates``) lets the average follow the early weights.
    """

    def average(averaged: Any, current: Any, num_averaged: Any) -> Any:
        n = float(num_averaged)
        beta = min(decay, (1.0 + n) / (10.0 + n))
        return averaged * beta + current * (1.0 - beta)

    return average


class StopRequest:
    """SIGINT and SIGTERM become a flag that the training loop reads between steps.

    Why not let the signal raise where it lands: in the middle of a step it would leave an
    optimiser half-stepped, and in the middle of a checkpoint it would leave a module half
    imported (matplotlib once), so the interrupt's own checkpoint saved a state no
    uninterrupted run has, or failed. Read after each step, a stop lands on a step boundary.
    The parent's parent-death watchdog (``_thread.interrupt_main``) goes through the same flag.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __enter__(self) -> StopRequest:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry for ``train``."""
    return Trainer(request).run()


class LossWindow:
    """Running sums of the losses between two log records, kept on the device."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new window."""
        self.sums: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.extras: dict[str, list[float]] = {}
        self.images = 0
        self.start = time.monotonic()

    def add(self, name: str, loss: Any, extras: dict[str, float]) -> None:
        """Add one step's loss tensor (no host sync) and the hook's extra floats."""
        self.sums[name] = loss if name not in self.sums else self.sums[name] + loss
        self.counts[name] = self.counts.get(name, 0) + 1
        for key, value in extras.items():
            self.extras.setdefault(key, []).append(value)

    def flush(self, step: int, epoch: int) -> dict[str, Any] | None:
        """The window's means and images/s, then a new window.

        Raises:
            TeamCodeError: a loss is NaN or infinite (nothing has been saved from it yet).
        """
        from harness.errors import TeamCodeError

        if not self.counts:
            return None
        record: dict[str, Any] = {k: float(v) / self.counts[k] for k, v in self.sums.items()}
        record.update({k: sum(v) / len(v) for k, v in self.extras.items()})
        bad = [k for k, v in record.items() if not math.isfinite(v)]
        if bad:
            raise TeamCodeError(
                f"{', '.join(bad)} became NaN or infinite by step {step} (epoch {epoch + 1}); "
                "training stopped and the last checkpoint is intact; lower the learning rates "
                "or check the loss"
            )
        record["img_per_s"] = self.images / max(time.monotonic() - self.start, 1e-9)
        self.reset()
        return record


class Trainer:
    """One training run inside the child process; see the module docstring."""

    def __init__(self, request: dict[str, Any]) -> None:
        import torch

        from harness import device
        from harness.data.cache import load_arrays
        from harness.spec import apply_overrides, load_spec
        from harness.training import augment, diffaugment, losses

        self.request = request
        self.run_dir = Path(request["run_dir"])
        self.team_dir = Path(request["team_dir"])
        self.spec = load_spec(self.team_dir)
        self.config = runs.read_config(self.run_dir)
        self.resume = request["resume"]
        trial_params = request.get("trial_params")
        own: dict[str, Any] = {}
        if self.resume:
            own = run_settings(self.config, self.spec.hparams)
            trial_params = trial_params or (
                None if self.config.get("train_config") else self.config.get("trial_params")
            )
        params = apply_overrides(
            self.spec,
            {**own, **space_overrides(self.spec, trial_params), **request["overrides"]},
        )
        self.cfg, self.hparams = params.train, params.hparams
        self.device = device.resolve_device(request["device"])
        device.configure(self.device)
        self.cuda = self.device.type == "cuda"
        precision = request.get("precision", "auto")
        if self.resume and precision == "auto":
            precision = self.config.get("precision", precision)  # a resumed run keeps its own
        self.precision = device.resolve_precision(precision, self.device)
        if self.resume:
            check_resumable(self.config.get("train_config"), dataclasses.asdict(self.cfg))
        self.cache = load_arrays(Path(request["train_cache"]))
        self.size = int(self.cache.meta["size"])
        self.transform = augment.real_pipeline(self.cfg.augment, self.spec.augmentation)
        self.hook = losses.resolve_loss(self.spec.loss, self.cfg.gp_weight, self.hparams)
        self.diffaug = diffaugment.parse_policy(self.cfg.diffaugment)

        torch.manual_seed(self.cfg.seed)
        self.g = self.spec.build_generator(self.hparams).to(self.device)
        self.d = self.spec.build_discriminator(self.hparams).to(self.device)
        # channels_last is faster for these convolutions on GPUs and on CPUs alike (measured:
        # 44 -> 52 images/s for team2 on 2 CPU cores).
        self.g = self.g.to(memory_format=torch.channels_last)
        self.d = self.d.to(memory_format=torch.channels_last)
        betas = (self.cfg.beta1, self.cfg.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=self.cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=self.cfg.lr_d, betas=betas)
        self.ema = None
        if self.cfg.ema_decay > 0:
            from torch.optim.swa_utils import AveragedModel

            self.ema = AveragedModel(
                self.g, avg_fn=ema_with_warmup(self.cfg.ema_decay), use_buffers=True
            )
        self.noise = torch.Generator(device=self.device).manual_seed(self.cfg.seed + 1)
        fixed = torch.Generator().manual_seed(self.cfg.seed + 2)
        self.fixed_z = torch.randn(GRID_COLUMNS, self.spec.latent_dim, generator=fixed).to(
            self.device
        )
        self.epoch, self.batch, self.step = 0, 0, 0
        # ``max_steps`` limits one session: a resumed run counts from where it picked up.
        self.session_start = 0
        self.per_epoch = len(self.cache.labels) // self.cfg.batch_size
        if self.per_epoch < 1:
            raise HarnessError(
                f"batch size {self.cfg.batch_size} is larger than the {len(self.cache.labels)} "
                "training images; lower --batch-size"
            )

    # ------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        """Everything a checkpoint holds (see :mod:`harness.training.checkpoint`)."""
        import torch

        from harness import device

        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": device.cuda_rng_states(self.device),
            "noise": self.noise.get_state(),
            "latent_dim": self.spec.latent_dim,
            "image_size": self.size,
            "train_config": dataclasses.asdict(self.cfg),
            "hparams": json.dumps(self.hparams),
            "complete": self.epoch >= self.cfg.epochs,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint written by :meth:`state`."""
        import torch

        from harness import device

        self.g.load_state_dict(state["generator"])
        self.d.load_state_dict(state["discriminator"])
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng_cpu"].cpu())
        device.set_cuda_rng_states(self.device, state["rng_cuda"])
        self.noise.set_state(state["noise"].cpu())
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]

    def step_limit(self) -> int:
        """The step this session stops at: ``max_steps`` after the step it started from (0: no
        limit). ``--max-steps`` limits one session, so a run resumed at step 8 with
        ``--max-steps 6`` trains 6 more steps, not none."""
        return self.session_start + self.cfg.max_steps if self.cfg.max_steps else 0

    def finished(self) -> bool:
        """Whether the run has reached its epochs or this session its step limit."""
        if self.cfg.max_steps and self.step >= self.step_limit():
            return True
        return self.epoch >= self.cfg.epochs

    # ------------------------------------------------------------ loop

    def run(self) -> dict[str, Any]:
        """Train to the configured end and return a summary for the parent."""
        from harness.training import checkpoint

        metrics_path = self.run_dir / runs.METRICS
        if self.resume:
            state = checkpoint.load(runs.latest_checkpoint(self.run_dir), self.device)
            self.load_state(state)
            metrics_log.truncate_after(metrics_path, self.step)
        self.session_start = self.step
        self.config.update(
            spec_name=self.spec.name,
            latent_dim=self.spec.latent_dim,
            image_size=self.size,
            loss=self._loss_name(),
            train_config=dataclasses.asdict(self.cfg),
            hparams=self.hparams,
            device=self._device_name(),
            precision=self.precision,
            torch_version=self._torch_version(),
            train_images=len(self.cache.labels),
            status="training",
        )
        self.config.pop("error", None)  # a resumed run is no longer the failed one
        runs.write_config(self.run_dir, self.config)
        started = time.monotonic()
        start_step = self.step
        try:
            # A full disk (checkpoint, metrics, grid or plot) is the disk's fault, not the team's.
            with StopRequest() as stop, atomic.disk_full_as_error(self.run_dir):
                if not self.finished():
                    self._loop(metrics_path, stop)
                if stop.requested and not self.finished():
                    # Still under StopRequest: a second Ctrl-C cannot cut this checkpoint short.
                    self._checkpoint(metrics_path)
                    self.config["status"] = "interrupted"
                    runs.write_config(self.run_dir, self.config)
                    print(
                        f"\ninterrupted at step {self.step}; resume with "
                        f"`{self._resume_command()}`",
                        file=sys.stderr,
                    )
                    raise Interrupted("stopped on request")
        except Interrupted:
            raise
        except DiskFullError as exc:
            self._record_failure("disk full")
            kept = runs.latest_checkpoint(self.run_dir, missing_ok=True)
            then = (
                f"nothing saved is lost: the last checkpoint ({kept.name}) is intact; free some "
                f"space and resume with `{self._resume_command()}`"
                if kept is not None
                else "no checkpoint had been saved yet; free some space and train again"
            )
            where = exc.target or self.run_dir
            raise DiskFullError(f"disk full while writing {where}; {then}", target=where) from None
        except BaseException as exc:
            self._record_failure(str(exc) if isinstance(exc, HarnessError) else repr(exc))
            raise
        elapsed = time.monotonic() - started
        images = (self.step - start_step) * self.cfg.batch_size
        self.config.update(
            status=self._end_status(),
            epochs_done=self.epoch,
            steps_done=self.step,
            finished=runs.utc_now(),
        )
        runs.write_config(self.run_dir, self.config)
        return {
            "run_dir": str(self.run_dir),
            "run_id": self.run_dir.name,
            "status": self.config["status"],
            "epochs": self.cfg.epochs,
            "max_steps": self.cfg.max_steps,
            "session_start_step": self.session_start,
            "epochs_done": self.epoch,
            "batch_in_epoch": self.batch,
            "batches_per_epoch": self.per_epoch,
            "steps_done": self.step,
            "images_per_s": images / elapsed if elapsed > 0 and images else 0.0,
            "checkpoint": str(runs.latest_checkpoint(self.run_dir, missing_ok=True)),
            "grid": str(self._grid_path()),
            "device": self.config["device"],
            **self._peak_memory(),
        }

    def _end_status(self) -> str:
        """``complete`` only when every epoch ran; a run cut short by ``max_steps`` says so."""
        if self.epoch >= self.cfg.epochs:
            return "complete"
        return "max_steps" if self.finished() else "stopped"

    def _resume_command(self) -> str:
        """What to paste to continue: the parent's spelling of it (with ``--runs`` and
        ``--device`` when they were given), else the plain form."""
        given = self.request.get("resume_command")
        if isinstance(given, str) and given:
            return given
        return f"harness train {self.team_dir} --resume {self.run_dir.name}"

    def _record_failure(self, error: str) -> None:
        """Best effort: config.json says the run failed and why (not still "training").

        On a full disk even this small write may fail; the run folder is then left as it was.
        """
        self.config.update(status="failed", error=error[:500])
        with contextlib.suppress(Exception):
            runs.write_config(self.run_dir, self.config)

    def _peak_memory(self) -> dict[str, float]:
        """Peak resident memory of this process and, on a GPU, peak allocated GPU memory (MiB)."""
        import resource

        from harness import device

        peak = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        return {**peak, **device.peak_memory_mib(self.device)}

    def _loop(self, metrics_path: Path, stop: StopRequest) -> None:
        import torch
        from tqdm import tqdm

        from harness import device
        from harness.training import augment, diffaugment, losses

        sampler = augment.RunBatches(
            len(self.cache.labels),
            self.cfg.batch_size,
            self.cfg.seed,
            self.epoch,
            self.batch,
            self.cfg.epochs,
        )
        workers = self.cfg.num_workers if self.cfg.num_workers >= 0 else (8 if self.cuda else 0)
        dataset = augment.AugmentedBatches(self.cache.folder, self.transform, self.cfg.seed)
        loader = augment.make_loader(
            dataset, sampler, num_workers=workers, pin_memory=device.pin_memory(self.device)
        )
        # The loader draws its worker seeds from this generator, not the global one, so that a
        # resumed run's global random stream (GP mixing, DiffAugment, dropout) stays aligned.
        loader.generator = torch.Generator().manual_seed(self.cfg.seed)
        total = self.cfg.epochs * self.per_epoch
        if self.cfg.max_steps:
            total = min(total, self.step_limit())
        log_every = max(1, min(10, self.per_epoch // 20))
        window = LossWindow()
        # The same autocast code on every device: bf16 on GPUs by default, and on a CPU when
        # asked (--precision bf16), which is how CI runs the branch GPU users take.
        autocast = device.autocast(self.device, self.precision)

        def d_view(x: torch.Tensor, y: torch.Tensor) -> Any:
            return self.d(diffaugment.diff_augment(x, self.diffaug), y)

        bar = tqdm(
            total=total,
            initial=self.step,
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
            desc=f"{self.run_dir.parent.name} e{self.epoch + 1}/{self.cfg.epochs}",
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
        )
        with bar:
            for images, labels, key in loader:
                real = augment.to_model_input(images, self.device, channels_last=True)
                y = device.to_device(labels, self.device)
                b = real.shape[0]
                z = torch.randn(b, self.spec.latent_dim, device=self.device, generator=self.noise)
                with autocast:
                    fake = self.g(z, y)
                    d_loss, d_extra = losses.split_output(
                        self.hook.discriminator_loss(d_view, real, fake.detach(), y, z),
                        "discriminator_loss",
                    )
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                self.opt_d.step()
                self.step += 1
                # Losses are summed on the device and read every log_every steps, so that a GPU
                # is not made to wait for the host after every step.
                window.add("loss_d", d_loss.detach(), {f"d_{k}": v for k, v in d_extra.items()})
                if self.step % self.cfg.n_critic == 0:
                    z = torch.randn(
                        b, self.spec.latent_dim, device=self.device, generator=self.noise
                    )
                    with autocast:
                        g_loss, g_extra = losses.split_output(
                            self.hook.generator_loss(d_view, self.g(z, y), y, z), "generator_loss"
                        )
                    self.opt_g.zero_grad(set_to_none=True)
                    g_loss.backward()
                    self.opt_g.step()
                    if self.ema is not None:
                        self.ema.update_parameters(self.g)
                    window.add("loss_g", g_loss.detach(), {f"g_{k}": v for k, v in g_extra.items()})
                self.epoch, self.batch = key.epoch, key.index + 1
                if self.batch == self.per_epoch:
                    self.epoch, self.batch = key.epoch + 1, 0
                window.images += b
                epoch_end = self.batch == 0
                at_limit = bool(self.cfg.max_steps) and self.step >= self.step_limit()
                wants_checkpoint = (
                    epoch_end and (self.epoch % self.cfg.checkpoint_every == 0 or self.finished())
                ) or at_limit
                if self.step % log_every == 0 or wants_checkpoint:
                    record = window.flush(self.step, key.epoch)  # raises on NaN, saves nothing
                    if record is not None:
                        record.update(kind="step", step=self.step, epoch=self.epoch)
                        metrics_log.append_record(metrics_path, record)
                        shown = {
                            "img_s": f"{record['img_per_s']:.0f}",
                            "d": f"{record['loss_d']:.3f}",
                        }
                        if "loss_g" in record:
                            shown["g"] = f"{record['loss_g']:.3f}"
                        bar.set_postfix(shown, refresh=False)
                bar.update(1)
                if epoch_end:
                    bar.set_description(
                        f"{self.run_dir.parent.name} e{min(self.epoch + 1, self.cfg.epochs)}/{self.cfg.epochs}"
                    )
                if wants_checkpoint:
                    self._checkpoint(metrics_path)
                if at_limit or stop.requested:
                    break

    # ------------------------------------------------------------ outputs

    def _grid_path(self) -> Path:
        tag = f"epoch-{self.epoch:04d}" if self.batch == 0 else f"step-{self.step:07d}"
        return self.run_dir / runs.SAMPLES / f"grid-{tag}.png"

    def _checkpoint(self, metrics_path: Path) -> None:
        from harness.training import checkpoint, grids, plots

        checkpoint.save(self.run_dir, self.state())
        metrics_log.append_record(
            metrics_path, {"kind": "checkpoint", "step": self.step, "epoch": self.epoch}
        )
        rows = self.fixed_grid()
        title = f"{self.run_dir.parent.name} {self.spec.name}: epoch {self.epoch}, step {self.step}"
        grids.save_grid(self._grid_path(), rows, title=title, scale=max(1, 64 // self.size))
        plots.plot_losses(metrics_path, self.run_dir / "loss_curves.png", title=title)

    def fixed_grid(self) -> list[Any]:
        """One row per class from the fixed grid noise, drawn by the EMA generator if any."""
        import torch

        from harness.classes import NUM_CLASSES
        from harness.pixels import to_uint8_nhwc

        g = self.ema.module if self.ema is not None else self.g
        was_training = g.training
        g.eval()
        rows = []
        with torch.no_grad():
            for label in range(NUM_CLASSES):
                y = torch.full((GRID_COLUMNS,), label, dtype=torch.long, device=self.device)
                rows.append(to_uint8_nhwc(g(self.fixed_z, y)))
        g.train(was_training)
        return rows

    def _loss_name(self) -> str:
        from harness.training import losses

        return losses.describe_loss(self.spec.loss, self.hook)

    def _device_name(self) -> str:
        from harness import device

        return device.describe(self.device)

    @staticmethod
    def _torch_version() -> str:
        import torch

        return torch.__version__
