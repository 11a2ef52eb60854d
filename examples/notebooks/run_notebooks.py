#!/usr/bin/python3
"""Execute the TypeScript notebooks of examples/notebooks with the tslab kernel, cell by cell.

Usage (from the repository root, after `npm run build`):

    /usr/bin/python3 examples/notebooks/run_notebooks.py                 # every notebook
    /usr/bin/python3 examples/notebooks/run_notebooks.py 01-quick-start  # some of them
    /usr/bin/python3 examples/notebooks/run_notebooks.py --inplace       # refresh the committed outputs

Needs Debian's python3-nbclient, jupyter-client and jupyter-nbconvert (call /usr/bin/python3:
a `python3` from pyenv has no Jupyter) and the tslab kernel registered by the committed
.jupyter/kernels/tslab/kernel.json (this script sets JUPYTER_PATH to the repository's .jupyter
folder, ahead of any JUPYTER_PATH already set).

Why not `jupyter nbconvert --execute`: tslab reports compile and runtime errors only on the
cell's stderr stream, so nbconvert prints an empty `<Error>:`. This runner prints the failing
cell and its stderr, always saves the executed copy (to --out, or over the notebook with
--inplace), and ends with `N passed, N failed`; the exit code is 1 when a notebook failed.
"""
import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
os.environ['JUPYTER_PATH'] = os.pathsep.join(p for p in [str(ROOT / '.jupyter'), os.environ.get('JUPYTER_PATH', '')] if p)

import nbformat  # noqa: E402  (after JUPYTER_PATH is set)
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: E402


def stream_text(cell, name):
    return ''.join(o.get('text', '') for o in cell.get('outputs', []) if o.get('output_type') == 'stream' and o.get('name') == name)


def error_text(cell):
    parts = []
    for o in cell.get('outputs', []):
        if o.get('output_type') == 'error':
            parts.append(f"{o.get('ename', '')}: {o.get('evalue', '')}".strip(': '))
            parts.extend(o.get('traceback', []))
    return '\n'.join(p for p in parts if p)


def indent(text, prefix='    '):
    return '\n'.join(prefix + line for line in text.rstrip('\n').split('\n'))


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(path, out_path, timeout, kernel):
    """Runs one notebook; returns (ok, wall seconds, kernel CPU seconds, failure message or None)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=False,
        record_timing=False,
        resources={'metadata': {'path': str(path.parent)}},
    )
    started = time.monotonic()
    cpu_before = children_cpu_seconds()
    failure = None
    code_index = 0
    # The kernel's own stderr (Node warnings, a crash, tslab's harmless "Socket is closed" when a
    # heartbeat races the shutdown) is kept in a file and shown only when the notebook fails.
    kernel_log = tempfile.TemporaryFile(mode='w+')
    try:
        with client.setup_kernel(stderr=kernel_log):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != 'code':
                    continue
                code_index += 1
                try:
                    client.execute_cell(cell, index, execution_count=code_index)
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
                    stderr = stream_text(cell, 'stderr') or error_text(cell) or str(error)
                    failure = '\n'.join([
                        f'  cell {code_index} (notebook cell {index + 1}) failed: {type(error).__name__}',
                        '  --- source ---',
                        indent(cell.source),
                        '  --- stderr ---',
                        indent(stderr),
                    ])
                    break
    except Exception as error:  # kernel did not start, etc.
        failure = f'  could not run the notebook: {type(error).__name__}: {error}'
    if failure is not None:
        kernel_log.seek(0)
        log = kernel_log.read().strip()
        if log:
            failure += '\n  --- kernel stderr ---\n' + indent(log)
    kernel_log.close()
    seconds = time.monotonic() - started
    cpu = children_cpu_seconds() - cpu_before  # the kernel process, once it has exited
    out_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out_path))
    return failure is None, seconds, cpu, failure


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('notebooks', nargs='*', help='notebook files or name prefixes (default: all in examples/notebooks)')
    parser.add_argument('--out', default=str(ROOT / '.ci-artifacts' / 'notebooks'), help='folder for the executed copies (default: .ci-artifacts/notebooks)')
    parser.add_argument('--inplace', action='store_true', help='write the executed notebooks over the originals (to commit their outputs)')
    parser.add_argument('--timeout', type=int, default=300, help='seconds per cell (default 300)')
    parser.add_argument('--kernel', default='tslab', help='kernel name (default tslab)')
    args = parser.parse_args(argv)

    available = sorted(HERE.glob('*.ipynb'))
    if args.notebooks:
        chosen = []
        for spec in args.notebooks:
            p = Path(spec)
            if p.suffix == '.ipynb' and p.exists():
                chosen.append(p.resolve())
                continue
            matches = [n for n in available if n.name.startswith(spec)]
            if not matches:
                print(f'no notebook matches {spec!r}; available: {", ".join(n.name for n in available)}', file=sys.stderr)
                return 2
            chosen.extend(matches)
    else:
        chosen = available
    if not chosen:
        print(f'no notebooks found in {HERE}', file=sys.stderr)
        return 2
    if not (ROOT / 'dist' / 'index.js').exists():
        print('dist/index.js is missing: run `npm run build` first (the notebooks import the built package).', file=sys.stderr)
        return 2

    passed = failed = 0
    for path in chosen:
        out_path = path if args.inplace else Path(args.out) / path.name
        print(f'{path.name} ...', flush=True)
        ok, seconds, cpu, failure = run_one(path, out_path, args.timeout, args.kernel)
        timing = f'{seconds:.1f} s wall, {cpu:.1f} s CPU'
        if ok:
            passed += 1
            print(f'  passed in {timing} (executed copy: {out_path})', flush=True)
        else:
            failed += 1
            print(failure, flush=True)
            print(f'  FAILED after {timing} (executed copy: {out_path})', flush=True)
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
