"""Images per second of each image classifier on CPU, at batch sizes 1, 8 and 32.

Times `classifier.predict` (preprocessing of already-decoded 640x480 photos + the forward pass) batch by
batch after a couple of warm-up batches, and reports the median batch (robust to a busy moment).
InceptionV3 uses torchvision's cached ImageNet weights when they exist, else a randomly initialised
network of the same architecture (the speed is the same); the output says which.

    OMP_WAIT_POLICY=PASSIVE python scripts/bench_image_labels.py [--batch-sizes 1,8,32] [--timed-images 64]

OMP_WAIT_POLICY=PASSIVE matters on a machine that other processes share: torch's OpenMP threads otherwise
spin at every barrier, and with more busy threads than cores each operator waits a scheduler tick (seen
here: 2.4 s instead of 40 ms per EfficientNet-Lite0 image at batch 1 beside a `spacy train` run).
"""
import argparse
import os
import statistics
import time

import numpy
import torch
from PIL import Image

from spacy_mner.image_labels.classifiers import InceptionV3, efficientnet_lite0, inception_v3_cache_path


def images_per_second(classifier, images, warmup: int, batches: int) -> float:
    """Images per second of the median of `batches` timed calls of `classifier.predict(images)`."""
    for _ in range(warmup):
        classifier.predict(images)
    seconds = []
    for _ in range(batches):
        start = time.perf_counter()
        classifier.predict(images)
        seconds.append(time.perf_counter() - start)
    return len(images) / statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", default="1,8,32", help="comma-separated batch sizes")
    parser.add_argument("--timed-images", type=int, default=64,
                        help="images timed per classifier and batch size (at least 3 batches)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up batches before timing")
    args = parser.parse_args()
    batch_sizes = [int(size) for size in args.batch_sizes.split(",")]

    rng = numpy.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=numpy.uint8)) for _ in range(max(batch_sizes))]
    weights = inception_v3_cache_path()
    classifiers = {
        "efficientnet_lite0": efficientnet_lite0(),
        "inception_v3" + ("" if weights.is_file() else " (random weights: no cached file)"): InceptionV3(
            weights if weights.is_file() else None
        ),
    }
    print(f"CPU cores (os.cpu_count): {os.cpu_count()}, torch threads: {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY: {os.environ.get('OMP_WAIT_POLICY', 'not set')}, torch {torch.__version__}")
    for name, classifier in classifiers.items():
        for size in batch_sizes:
            speed = images_per_second(classifier, photos[:size], args.warmup, max(3, args.timed_images // size))
            print(f"{name:50s} batch {size:2d}: {speed:6.1f} images/s ({1000 / speed:6.1f} ms/image)")


if __name__ == "__main__":
    main()
