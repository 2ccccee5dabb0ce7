"""The board as a static site: ``harness leaderboard --html SITE_DIR``.

Takes in the rows of ``results.csv`` and what the earlier stages left on disk (run folders:
samples, latent walks, loss curves, hparams; the sample strips kept in ``strips/`` beside
``results.csv``; team folders of samples submissions). Hands on a
folder of plain HTML, one stylesheet and small WebP/PNG images that opens from disk and can be
published as it is: :mod:`.views` chooses the board and formats its numbers (and keeps private
columns off the public site), :mod:`.assets` finds and shrinks a team's pictures,
:mod:`.history` plots its submissions, :mod:`.pages` assembles a team's page and
:mod:`.build` renders the templates and swaps the finished site into place.
"""

from harness._lazy import lazy_exports

_EXPORTS = {
    "SiteSummary": "build",
    "write_site": "build",
    "drop_private": "views",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
