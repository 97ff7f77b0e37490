#!/usr/bin/env python3
"""How fast could an epoch be at all? Matmul floors against 5× of ``fit``, in one run.

    flock /tmp/normexp-heavy.lock python benchmarks/bench_floors.py   # about 2 minutes

For the benchmark models of bench_families.py (batch 32, 1875 updates per
MNIST epoch) this times, in XLA on this CPU, only the matrix products one
epoch cannot avoid, with every other operation left out:

* ``cnn`` (8-16 filters, dense 32): each step's forward, weight-gradient and
  input-gradient products, in their im2col shapes (the fast engine's);
* ``rnn`` (LSTM 64): the recurrence, 28 dependent pairs per step (h·W_h
  forward, dz·W_hᵀ backward), each waiting for the last; then the products
  that can be batched over the 28 steps (input projection, the two weight
  gradients), as one large product each;
* ``transformer`` (configs/transformer_norms.yaml's, 6 blocks of width 32):
  every projection's three products and attention's token-by-token products.

It then times one ``fit`` epoch of the same model (fresh process, as
bench_families.py does) and prints the floor as a share of a 5× budget
(fit time / 5). A floor above the budget means no implementation that
does these products on this CPU reaches 5×, before counting activations,
norms, pooling, the optimizer or the validation pass.
"""

import argparse
import time

from bench_families import measure  # importing it puts the repository on sys.path

from normexp.engine import tensorflow_backend  # noqa: F401  (imports TensorFlow quietly)

import tensorflow as tf  # noqa: E402

STEPS, BATCH, TIME_STEPS, UNITS, FEATURES = 1875, 32, 28, 64, 28
GATES = 4 * UNITS


def timed(function, *arguments):
    compiled = tf.function(function, jit_compile=True)
    compiled(*arguments).numpy()
    started = time.perf_counter()
    compiled(*arguments).numpy()
    return time.perf_counter() - started


def products_per_epoch(shapes, steps=STEPS):
    """Seconds for ``steps`` rounds of ``(M, K) @ (K, N)`` products, one per shape.

    Each round scales the smaller operand by the last round's result, so XLA
    cannot hoist a product out of the loop."""
    pairs = [(tf.random.normal(left) * 0.01, tf.random.normal(right) * 0.01)
             for left, right in shapes]

    def epoch():
        def body(step, carry):
            total = carry
            for left, right in pairs:
                if left.shape.num_elements() < right.shape.num_elements():
                    product = tf.matmul(left * (1 + carry), right)
                else:
                    product = tf.matmul(left, right * (1 + carry))
                total += product[0, 0]
            return step + 1, total * 1e-9
        return tf.while_loop(lambda step, _: step < steps, body, (0, 0.0))[1]

    return timed(epoch)


def recurrence_per_epoch():
    """Seconds for 1875 × 28 dependent forward/backward recurrent product pairs."""
    weights = tf.random.normal((UNITS, GATES)) * 0.05
    transposed = tf.transpose(weights)

    def chain(state):
        def body(step, state):
            gates = tf.matmul(state, weights)
            return step + 1, tf.tanh(tf.matmul(tf.tanh(gates), transposed))
        return tf.while_loop(lambda step, _: step < STEPS * TIME_STEPS, body, (0, state))[1]

    return timed(chain, tf.random.normal((BATCH, UNITS)))


def cnn_floor():
    pixels = BATCH * 28 * 28
    return products_per_epoch([
        ((pixels, 9), (9, 8)), ((9, pixels), (pixels, 8)),                # conv 1→8
        ((pixels // 4, 72), (72, 16)), ((72, pixels // 4), (pixels // 4, 16)),
        ((pixels // 4, 16), (16, 72)),                                    # conv 8→16
        ((BATCH, 784), (784, 32)), ((784, BATCH), (BATCH, 32)), ((BATCH, 32), (32, 784)),
    ])


def rnn_floor():
    rows = BATCH * TIME_STEPS
    batched = products_per_epoch([
        ((rows, FEATURES), (FEATURES, GATES)),    # input projection, all steps at once
        ((FEATURES, rows), (rows, GATES)),        # its weight gradient
        ((UNITS, rows), (rows, GATES)),           # the recurrent weight gradient
    ])
    return recurrence_per_epoch() + batched


def transformer_floor(steps=STEPS, depth=6, width=32, tokens=16, heads=2, ratio=2):
    """Per step: the patch embedding, then per block the q/k/v, output and two MLP
    projections (forward, weight and input gradients each), and attention's four batched
    token-by-token products (scores and mixing, forward and backward) written as one
    product of the same size each (``BATCH · heads · tokens`` rows of ``width / heads``)."""
    rows, hidden, head_rows, per_head = BATCH * tokens, width * ratio, BATCH * heads * tokens, \
        width // heads

    def dense(fan_in, fan_out):
        return [((rows, fan_in), (fan_in, fan_out)), ((fan_in, rows), (rows, fan_out)),
                ((rows, fan_out), (fan_out, fan_in))]

    block = (dense(width, 3 * width) + dense(width, width) + dense(width, hidden)
             + dense(hidden, width) + [((head_rows, per_head), (per_head, tokens))] * 6)
    return products_per_epoch([((rows, 49), (49, width)), ((49, rows), (rows, width))]
                              + block * depth, steps)


FLOORS = {
    "cnn (8-16 filters, BN before)": ("im2col products", cnn_floor),
    "rnn (LSTM 64, no norm)": ("recurrence + batched products", rnn_floor),
    "transformer (6 blocks of 32, Pre-LN)": ("projections + attention products",
                                             transformer_floor),
}


def main():
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--only", action="append", default=[], help="family prefix, e.g. cnn")
    parse.add_argument("--train-examples", type=int,
                       help="the transformer's epoch on the first N images (default: all)")
    args = parse.parse_args()
    print("| model | fit s/epoch | 5× budget s | matmul floor s | floor / budget |\n"
          "|---|---|---|---|---|")
    for name, (what, floor) in FLOORS.items():
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        examples = args.train_examples if floor is transformer_floor else None
        fit = measure(name, "fit", 2, examples)["seconds"][-1]
        seconds = floor(-(-examples // BATCH)) if examples else floor()
        print(f"| {name} | {fit:.2f} | {fit / 5:.2f} | {seconds:.2f} ({what}) | "
              f"{seconds / (fit / 5):.0%} |", flush=True)


if __name__ == "__main__":
    main()
