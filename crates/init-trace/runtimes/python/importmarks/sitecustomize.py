"""coldfront's import marks: when the handler module starts and stops loading, whatever loads it.

Put on `PYTHONPATH` by the emulator only for cold starts run with `-X importtime`. Python's
`site` imports `sitecustomize` at start-up, before any runtime code runs. This one installs a
finder at the front of `sys.meta_path` that waits for the handler module named by `_HANDLER`
(or its top-level package) and writes two lines to stderr, in the same stream as the
`-X importtime` records:

    coldfront-mark: handler_import_start <CLOCK_MONOTONIC ns>
    coldfront-mark: handler_import_end <CLOCK_MONOTONIC ns>

followed by one `coldfront-modules:` line naming the standard library's modules and the
native extension modules loaded, and a `catalogue_end` mark that times writing it.

So the handler's imports are found in that stream whether the runtime loads it with an
`import` statement (coldfront's bootstrap), `importlib.import_module` (awslambdaric, which
`-X importtime` does not record as a parent) or anything else that goes through the import
system. The finder removes itself as soon as the handler is found, so later imports do not
pay for it. Then this module hands over to the `sitecustomize` it shadows, if any, and takes
its directory off `sys.path` and `PYTHONPATH`, so the function sees the path it would have.
"""

import os
import sys
from time import monotonic_ns


def _mark(name):
    os.write(2, b"coldfront-mark: %s %d\n" % (name.encode(), monotonic_ns()))


def _catalogue():
    """Which top-level names are the standard library and which loaded modules are native
    extensions, for grouping and flagging in the report; timed by the mark after it, so the
    attribution can set its cost apart."""
    from _frozen_importlib_external import ExtensionFileLoader

    loaded = list(sys.modules.items())
    stdlib = getattr(sys, "stdlib_module_names", frozenset()).intersection([name.partition(".")[0] for name, _ in loaded])
    native = [name for name, module in loaded if isinstance(getattr(module, "__loader__", None), ExtensionFileLoader)]
    os.write(2, ("coldfront-modules: stdlib=%s native=%s\n" % (",".join(stdlib), ",".join(native))).encode())
    _mark("catalogue_end")


class _MarkingLoader:
    """The handler's own loader, with the end mark written after its code ran."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        # The module's code sees its own loader, as it would without the hook.
        module.__loader__ = self._inner
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self._inner
        try:
            self._inner.exec_module(module)
        finally:
            _mark("handler_import_end")
            _catalogue()


class _HandlerFinder:
    def __init__(self, module):
        self.module = module
        self.started = False

    def find_spec(self, name, path=None, target=None):
        if name != self.module and not self.module.startswith(name + "."):
            return None
        if not self.started:
            self.started = True
            # When no other sitecustomize ran, this one leaves sys.modules as it found it.
            if getattr(sys.modules.get("sitecustomize"), "_HandlerFinder", None) is _HandlerFinder:
                del sys.modules["sitecustomize"]
            _mark("handler_import_start")
        if name != self.module:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _MarkingLoader(spec.loader)
        return spec


def _install():
    module = os.environ.get("_HANDLER", "").rpartition(".")[0].replace("/", ".")
    if module and module not in sys.modules:
        sys.meta_path.insert(0, _HandlerFinder(module))


def _step_aside():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    kept = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != here]
    if kept:
        os.environ["PYTHONPATH"] = os.pathsep.join(kept)
    else:
        os.environ.pop("PYTHONPATH", None)
    # The sitecustomize this one shadows, if any, runs as it would have.
    this = sys.modules.pop("sitecustomize")
    try:
        import sitecustomize  # noqa: F401
    except ImportError:
        sys.modules["sitecustomize"] = this


_install()
_step_aside()
