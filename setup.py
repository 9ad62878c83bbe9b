"""Build step for the optional C kernels (everything else is in pyproject.toml).

The extension is ``optional``: without a C compiler the install still succeeds
and gradstep runs its pure-NumPy fallback (see gradstep/native/__init__.py).
"""
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# No fast-math and no FMA contraction: the kernels must round exactly like the NumPy fallback.
UNIX_FLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-std=c99"]


class BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "unix":
            for ext in self.extensions:
                ext.extra_compile_args = UNIX_FLAGS + list(ext.extra_compile_args)
        super().build_extensions()


setup(
    ext_modules=[Extension("gradstep.native._kernels", ["gradstep/native/_kernels.c"], optional=True)],
    cmdclass={"build_ext": BuildExt},
)
