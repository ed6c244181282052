"""`predict --engine ray`: tag posts on Ray Data, with a pool of workers on one machine or a cluster.

The driver cuts the input (a JSONL or Parquet file, a folder of `*.jsonl` and `*.parquet` shards, or a glob)
into chunks of `--lines-per-shard` lines or rows (JSONL byte ranges found by one pass over the files, Parquet
row ranges from the files' metadata) and hands them to a pool of Ray actors. Each actor loads the pipeline
once, reads its chunk's lines and images itself, tags them and writes the chunk's output shard, so neither
posts nor docs cross the driver. A shard is written under a temporary name and renamed when complete: a
chunk retried after its worker died is written again from scratch, and every input line is in the output
exactly once. The files (input, images, output) must be reachable under
the same paths from every worker: one machine, or a shared file system on a cluster.

Output lines have the single-process `predict` schema (error lines included) plus `file` and `line`, the
input position (for Parquet, `line` is the 1-based row). A Parquet file has a `text` column and, optionally,
`image`, `id` and `caption` columns, the fields of a JSONL line; each row is read as that line would be.
Shard names are `<input number>.<input stem>.<first line>.jsonl`, zero-padded, so sorted names are input
order: `cat OUTPUT/*.jsonl` is the whole output in input order. `--resume` goes on with an interrupted
run: its complete shards are kept and only the chunks without one are tagged.

Ray is optional (`pip install "spacy-mner[ray]"`); it is imported only when this engine runs.
"""
import argparse
import dataclasses
import glob
import io
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set, Tuple

from ..cli.errors import CliError

INSTALL = 'pip install "spacy-mner[ray]"'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `predict --engine ray`."""
    group = parser.add_argument_group("--engine ray (OUTPUT is a folder of JSONL shards; see docs/distributed.md)")
    group.add_argument("--address", default=None,
                       help="Ray cluster to run on (e.g. ray://head:10001 or auto); default: a new local Ray")
    group.add_argument("--workers", type=int, default=None,
                       help="actors, each with its own pipeline; default: as many as the CPUs (or GPUs) allow")
    group.add_argument("--cpus-per-worker", type=float, default=1.0,
                       help="CPUs per worker, also its torch threads (default 1)")
    group.add_argument("--gpus-per-worker", type=float, default=0.0,
                       help="GPUs per worker (e.g. 1, or 0.5 to share one); default 0: CPU")
    group.add_argument("--lines-per-shard", type=int, default=1000,
                       help="input lines per task and output shard (default 1000)")


PARQUET_COLUMNS = ("text", "image", "id", "caption")


class Chunk(NamedTuple):
    """Consecutive lines (or Parquet rows) of one input file: the unit of work and of output (one shard).
    `offset` and `length` are bytes in a JSONL file, rows in a Parquet file."""

    path: str
    first_line: int
    offset: int
    length: int
    lines: int
    shard: str


def predict_lines(nlp: Any, path: str, first_line: int, raw_lines: Iterable[bytes], batch_size: int,
                  threshold: Optional[float]) -> Iterator[Tuple[Dict[str, Any], Optional[str]]]:
    """The output objects of consecutive raw input lines, the first of them line `first_line` of `path`,
    each with the message `predict` reports on stderr for it (None: nothing to report).

    Built on the single-process `predict`'s per-line parts (a line to a post, tagging in order, the output
    object or error line), so that both engines write the same lines; this is the one place that ties the
    engine to them.
    """
    from ..cli.jsonl import parse_line
    from ..cli.predict import prediction
    from ..cli.tagging import tag_posts
    from ..pipeline.confidence import pipeline_spans_key

    key = pipeline_spans_key(nlp)
    unit = "row" if is_parquet(path) else "line"
    posts = (dataclasses.replace(parse_line(first_line + index, raw), unit=unit) for index, raw in enumerate(raw_lines))
    for post, doc in tag_posts(nlp, posts, batch_size=batch_size, n_process=1):
        message = post.error if doc is None else doc._.image_error and f"{doc._.image_error}; tagged from its text"
        yield {"file": path, **prediction(post, doc, key, threshold)}, message and f"{path}, {post.name}: {message}"


class ShardTagger:
    """A Ray Data worker: loads the pipeline once, then tags chunks and writes their shards."""

    def __init__(self, model: str, output: str, cwd: str, threads: int, use_gpu: bool, batch_size: int,
                 threshold: Optional[float]):
        import torch
        from thinc.api import get_current_ops

        from ..cli.loading import load_pipeline

        if os.path.isdir(cwd):  # relative image paths are read from the driver's folder, as in `predict`
            os.chdir(cwd)
        torch.set_num_threads(threads)
        self.nlp = load_pipeline(model, 0 if use_gpu else -1)  # Ray gives a GPU worker its GPU as device 0
        self.ops = get_current_ops()  # thinc's CupyOps on a GPU worker
        self.output = Path(output)
        self.batch_size, self.threshold = batch_size, threshold

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[Any]]:
        from thinc.api import set_current_ops

        # Ray Data calls this from a thread pool whose threads do not see the ops load_pipeline set (thinc
        # keeps them per thread and context): without this, `image_labels` would run on the CPU of a GPU worker
        set_current_ops(self.ops)
        result: Dict[str, List[Any]] = {"shard": [], "lines": [], "errors": [], "messages": []}
        for chunk in map(Chunk, *(batch[field] for field in Chunk._fields)):
            rows = predict_lines(self.nlp, str(chunk.path), int(chunk.first_line), read_chunk(chunk),
                                 self.batch_size, self.threshold)
            messages, lines, errors = [], 0, 0
            partial = self.output / f".{chunk.shard}.{os.getpid()}.part"
            with open(partial, "w", encoding="utf8") as out:
                for row, message in rows:
                    lines += 1
                    errors += "error" in row
                    if message:
                        messages.append(message)
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
            os.replace(partial, self.output / str(chunk.shard))
            result["shard"].append(str(chunk.shard))
            result["lines"].append(lines)
            result["errors"].append(errors)
            result["messages"].append(json.dumps(messages))
        return result


def read_chunk(chunk: Chunk) -> Iterable[bytes]:
    """The raw input lines of `chunk`; a Parquet row as the JSONL line of its post's fields."""
    if not is_parquet(chunk.path):
        with open(chunk.path, "rb") as file:
            file.seek(int(chunk.offset))
            return io.BytesIO(file.read(int(chunk.length)))
    import pyarrow.parquet as pq

    offset, length = int(chunk.offset), int(chunk.length)
    file = pq.ParquetFile(chunk.path)
    groups, start, first = [], 0, 0
    for index in range(file.num_row_groups):  # the row groups that hold rows offset .. offset + length
        rows = file.metadata.row_group(index).num_rows
        if start < offset + length and start + rows > offset:
            first = first if groups else start
            groups.append(index)
        start += rows
    columns = [name for name in PARQUET_COLUMNS if name in file.schema_arrow.names]
    table = file.read_row_groups(groups, columns=columns).slice(offset - first, length)
    # values JSON has no type for (a timestamp id, a decimal) become their text, as the output is JSON
    return [json.dumps(row, ensure_ascii=False, default=str).encode("utf8") for row in table.to_pylist()]


def is_parquet(path: Any) -> bool:
    """Whether an input file is read as Parquet (by its name: `*.parquet`), not as JSONL."""
    return str(path).endswith(".parquet")


def input_files(spec: Path) -> List[Path]:
    """The JSONL and Parquet files `spec` names: a file, a folder's `*.jsonl` and `*.parquet` (sorted), or a
    glob (sorted)."""
    if spec.is_file():
        return [spec]
    if spec.is_dir():
        files = sorted(path for path in spec.iterdir() if path.suffix in (".jsonl", ".parquet") and path.is_file())
        if not files:
            raise CliError(f"{spec}: folder without *.jsonl or *.parquet files")
        return files
    files = sorted(Path(name) for name in glob.glob(str(spec)) if Path(name).is_file())
    if not files:
        raise CliError(f"{spec}: no such file, folder or matching files")
    return files


def plan_chunks(files: List[Path], lines_per_shard: int) -> Iterator[Chunk]:
    """The chunks of `lines_per_shard` lines (or rows) that cover `files`, in input order."""
    for number, path in enumerate(files, 1):
        if is_parquet(path):
            rows = _parquet_rows(path)
            for start in range(0, rows, lines_per_shard):
                length = min(lines_per_shard, rows - start)
                yield Chunk(str(path), start + 1, start, length, length, _shard(number, path, start + 1))
            continue
        with open(path, "rb") as file:
            first_line, offset, lines, length = 1, 0, 0, 0
            for raw in file:
                lines += 1
                length += len(raw)
                if lines == lines_per_shard:
                    yield Chunk(str(path), first_line, offset, length, lines, _shard(number, path, first_line))
                    first_line, offset, lines, length = first_line + lines, offset + length, 0, 0
            if lines:
                yield Chunk(str(path), first_line, offset, length, lines, _shard(number, path, first_line))


def shards_done(output: Path, chunks: List[Chunk]) -> Set[str]:
    """The shards of `chunks` that an interrupted run wrote, complete, to `output`; a CliError if it holds
    a shard that is not one of them (another input, or another --lines-per-shard), so that no line could
    end up in the output twice."""
    planned = {chunk.shard: chunk for chunk in chunks}
    done = set()
    for path in sorted(output.glob("*.jsonl")):
        chunk = planned.get(path.name)
        with open(path, "rb") as file:
            first = file.readline()
            lines = bool(first) + sum(1 for _ in file)
        try:
            row = json.loads(first)
            expected = None if chunk is None else (chunk.path, chunk.first_line, chunk.lines)
            same = expected == (row["file"], row["line"], lines)
        except (ValueError, KeyError, TypeError):
            same = False
        if not same:
            raise CliError(f"--resume: {path} is not a shard of {chunk.path if chunk else 'this input'} with "
                           "--lines-per-shard as given: the output of another input or another --lines-per-shard?")
        done.add(path.name)
    return done


def _parquet_rows(path: Path) -> int:
    """The number of rows of a Parquet input file; a CliError if it is none or has no `text` column."""
    import pyarrow
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (OSError, pyarrow.ArrowException) as error:
        raise CliError(f"{path}: not a readable Parquet file ({error})") from None
    if "text" not in file.schema_arrow.names:
        raise CliError(f"{path}: no \"text\" column (its columns: {', '.join(file.schema_arrow.names)})")
    return file.metadata.num_rows


def _shard(number: int, path: Path, first_line: int) -> str:
    return f"{number:05d}.{path.stem}.{first_line:010d}.jsonl"


def _import_ray() -> Any:
    try:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise CliError(f"--engine ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


def _check(args: argparse.Namespace) -> None:
    if args.batch_size < 1 or args.lines_per_shard < 1:
        raise CliError("--batch-size and --lines-per-shard must be at least 1")
    if args.n_process != 1 or args.gpu_id != -1:
        raise CliError("--engine ray runs on --workers and --gpus-per-worker, and has no --n-process or --gpu-id")
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CliError(f"--threshold must be between 0 and 1, not {args.threshold}")
    if args.cpus_per_worker <= 0 or args.gpus_per_worker < 0 or (args.workers is not None and args.workers < 1):
        raise CliError("--cpus-per-worker must be above 0, --gpus-per-worker at least 0, --workers at least 1")
    if not Path(args.model).exists():
        import spacy

        if not spacy.util.is_package(args.model):
            raise CliError(f"{args.model}: no such folder (nor an installed pipeline package)")
    if args.output.is_file() or (not args.resume and args.output.is_dir() and any(args.output.iterdir())):
        raise CliError(f"{args.output}: exists and is not an empty folder (the output is a folder of shards; "
                       "--resume goes on with an interrupted run's)")


def _reason(error: Exception) -> str:
    """The one line that says why a Ray run failed: a worker's own `CliError`, else Ray's first line."""
    text = str(error)
    for line in text.splitlines():
        if "CliError: " in line:
            return line.split("CliError: ", 1)[1].strip()
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def _pool_size(ray: Any, args: argparse.Namespace) -> int:
    if args.workers is not None:
        return args.workers
    resources = ray.cluster_resources()
    sizes = [int(resources.get("CPU", 1) // args.cpus_per_worker)]
    if args.gpus_per_worker:
        if resources.get("GPU", 0) < args.gpus_per_worker:  # no worker could ever be placed: the run would wait
            raise CliError(f"--gpus-per-worker {args.gpus_per_worker}: the Ray cluster has "
                           f"{resources.get('GPU', 0):g} GPUs")
        sizes.append(int(resources.get("GPU", 0) // args.gpus_per_worker))
    return max(1, min(sizes))


def run(args: argparse.Namespace) -> int:
    """`predict --engine ray`: tag the input on a Ray actor pool and write a folder of shards."""
    from tqdm import tqdm

    try:
        ray = _import_ray()
        _check(args)
        files = input_files(args.input)
        chunks = list(plan_chunks(files, args.lines_per_shard))
        done = shards_done(args.output, chunks) if args.resume and args.output.is_dir() else set()
        todo = [chunk for chunk in chunks if chunk.shard not in done]
        started = not ray.is_initialized()
        if started:
            try:  # without --address, a new local Ray with the machine's cores (never a stray local cluster)
                ray.init(address=args.address or "local", include_dashboard=False, log_to_driver=True)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise CliError(f"--address {args.address}: cannot connect to Ray ({error})") from None
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    args.output.mkdir(parents=True, exist_ok=True)
    read = errors = 0
    try:
        if todo:
            ray.data.DataContext.get_current().enable_progress_bars = False
            dataset = ray.data.from_items([chunk._asdict() for chunk in todo], override_num_blocks=len(todo))
            threads = max(1, int(args.cpus_per_worker))
            tagged = dataset.map_batches(
                ShardTagger,
                fn_constructor_kwargs={"model": str(args.model), "output": str(args.output.resolve()),
                                       "cwd": os.getcwd(), "threads": threads,
                                       "use_gpu": args.gpus_per_worker > 0, "batch_size": args.batch_size,
                                       "threshold": args.threshold},
                # one chunk at work and one queued per worker: a slow or lost worker holds back few chunks
                batch_size=1, compute=ray.data.ActorPoolStrategy(size=_pool_size(ray, args),
                                                                 max_tasks_in_flight_per_actor=2),
                num_cpus=args.cpus_per_worker, num_gpus=args.gpus_per_worker)
            with tqdm(total=sum(chunk.lines for chunk in todo), unit="post", desc="predicting") as progress:
                for row in tagged.iter_rows():
                    read += row["lines"]
                    errors += row["errors"]
                    for message in json.loads(row["messages"]):
                        tqdm.write(message, file=sys.stderr)
                    progress.update(row["lines"])
    except ray.exceptions.RayError as error:  # a worker that cannot start (a broken model) or is lost for good
        print(f"error: the Ray run failed: {_reason(error)} (the shards in {args.output} are complete)",
              file=sys.stderr)
        return 1
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: the complete shards are in {args.output}; add --resume to go on", file=sys.stderr)
        return 130
    finally:
        if started:  # first, so that no worker still writes a shard while the partial ones are removed
            ray.shutdown()
        for partial in args.output.glob(".*.part"):  # left by workers that died mid-shard
            partial.unlink()
    kept = sum(chunk.lines for chunk in chunks if chunk.shard in done)
    resumed = f" (after the {kept} lines already in {len(done)} shards)" if done else ""
    print(f"{read} lines read{resumed}, {read - errors} posts predicted, {errors} errors: "
          f"{len(chunks)} shards in {args.output}")
    return 0
