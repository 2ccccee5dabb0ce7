"""A competition harness for class-conditional image GANs on the face-mask dataset.

Classes: 0 = with_mask, 1 = without_mask. The command line is ``harness`` (see
:mod:`harness.cli`); a team implements :class:`harness.spec.GeneratorSpec`.
"""

__version__ = "0.1.0"
