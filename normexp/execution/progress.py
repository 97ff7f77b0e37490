"""Progress over runs and epochs: a live line on a terminal, one line per run otherwise.

Replaces Keras' per-batch output. Writes to stderr so the summary on stdout
stays clean for piping.
"""

import sys
import time


class Progress:
    def __init__(self, runs, quiet=False, stream=None):
        self.total_runs = len(runs)
        self.planned_epochs = sum(run.settings.train.epochs for run in runs)
        self.quiet, self.stream = quiet, stream or sys.stderr
        self.live = self.stream.isatty()
        self.finished_runs = self.finished_epochs = 0
        self.started = time.perf_counter()
        self.latest = ""

    def eta(self):
        if not self.finished_epochs:
            return "--:--"
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / self.finished_epochs * (self.planned_epochs - self.finished_epochs)
        return format_seconds(remaining)

    def epoch_done(self, spec, epoch, metrics):
        self.finished_epochs += 1
        self.latest = (f"{spec.condition} seed {spec.seed} epoch {epoch}/"
                       f"{spec.settings.train.epochs} acc {metrics['accuracy']:.4f} "
                       f"val {metrics['val_accuracy']:.4f}")
        if self.live and not self.quiet:
            line = (f"[{self.finished_runs}/{self.total_runs} runs] {self.latest} | "
                    f"ETA {self.eta()}")
            self.stream.write("\r\033[K" + line)
            self.stream.flush()

    def run_done(self, spec, result):
        self.finished_runs += 1
        # A diverged run stops early; count its missing epochs as done for the ETA.
        self.finished_epochs += spec.settings.train.epochs - len(result.history["epoch"])
        if self.quiet:
            return
        final = result.history["val_accuracy"][-1]
        status = (f"DIVERGED at epoch {result.diverged_epoch}" if result.status == "diverged"
                  else f"val acc {final:.4f}")
        self.say(f"[{self.finished_runs}/{self.total_runs}] {spec.condition} seed {spec.seed}: "
                 f"{status} ({result.seconds:.1f} s) | ETA {self.eta()}")

    def say(self, message):
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(message + "\n")
        self.stream.flush()


def format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
