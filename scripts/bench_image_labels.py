"""Images per second of each image classifier on CPU, at batch size 1 and 32.

Times `classifier.predict` (preprocessing of already-decoded 640x480 photos + the forward pass) batch by
batch after a couple of warm-up batches, and reports the median batch (robust to a busy moment). InceptionV3 uses torchvision's cached ImageNet weights when they exist, else a
randomly initialised network of the same architecture (the speed is the same); the output says which.

    python scripts/bench_image_labels.py [--timed-images 64]
"""
import argparse
import os
import statistics
import time

import numpy
import torch
from PIL import Image

from spacy_mner.image_labels.classifiers import InceptionV3, efficientnet_lite0, inception_v3_cache_path


def images_per_second(classifier, images, batch_size: int, warmup: int, timed_images: int) -> float:
    """Images per second of the median timed batch."""
    batch = images[:batch_size]
    for _ in range(warmup):
        classifier.predict(batch)
    seconds = []
    for _ in range(max(3, timed_images // batch_size)):
        start = time.perf_counter()
        classifier.predict(batch)
        seconds.append(time.perf_counter() - start)
    return batch_size / statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timed-images", type=int, default=64, help="images timed per classifier and batch size (at least 3 batches)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up batches before timing")
    args = parser.parse_args()

    rng = numpy.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=numpy.uint8)) for _ in range(32)]
    weights = inception_v3_cache_path()
    classifiers = {
        "efficientnet_lite0": efficientnet_lite0(),
        "inception_v3" + ("" if weights.is_file() else " (random weights: no cached file)"): InceptionV3(
            weights if weights.is_file() else None
        ),
    }
    print(f"CPU cores (os.cpu_count): {os.cpu_count()}, torch threads: {torch.get_num_threads()}, "
          f"torch {torch.__version__}")
    for name, classifier in classifiers.items():
        for batch_size in (1, 32):
            speed = images_per_second(classifier, images, batch_size, args.warmup, args.timed_images)
            print(f"{name:60s} batch {batch_size:2d}: {speed:6.1f} images/s ({1000 / speed:6.1f} ms/image)")


if __name__ == "__main__":
    main()
