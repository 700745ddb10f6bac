"""The application icon: windows, the task bar and the desktop launchers show the NeuralForge icon."""

from neuralforge_desktop.ui.app import ICONS, create_application


def test_the_application_carries_the_icon_in_every_launcher_size(qapp):
    app = create_application([])
    sizes = {size.width() for size in app.windowIcon().availableSizes()}
    assert {16, 32, 48, 256, 512} <= sizes


def test_the_launcher_icons_are_the_rendered_svg(qapp):
    from PySide6.QtGui import QImage

    assert (ICONS / "neuralforge.svg").read_text().startswith("<svg")
    for size in (16, 48, 256):
        image = QImage(str(ICONS / f"neuralforge-{size}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # the opaque tile, not an empty canvas
