"""The explanation methods, which kind of model each fits, and the refusal that names the ones that do."""

from __future__ import annotations

from neuralforge_desktop.core.errors import UserError
from neuralforge_desktop.core.explain.subject import IMAGE, TABULAR, TEXT

# method → (the model kinds it fits, what it shows)
METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "ig": ((IMAGE,), "integrated gradients (Captum): each pixel's share of the score, from a black baseline"),
    "saliency": ((IMAGE,), "saliency (Captum): |gradient| of the score with respect to each pixel"),
    "occlusion": ((IMAGE,), "occlusion (Captum): how much the score drops when a patch is blacked out"),
    "gradcam": ((IMAGE,), "Grad-CAM (Captum LayerGradCam) on the last convolution, upsampled to the image"),
    "shap": ((TABULAR,), "SHAP values (KernelExplainer): each feature's push from the expected prediction"),
    "permutation": ((TABULAR,), "permutation importance (scikit-learn): the accuracy lost when a feature is "
                                "shuffled (global only)"),
    "attention": ((TEXT,), "attention maps: what each token attends to, per transformer layer"),
}
KIND_WORDS = {IMAGE: "an image model", TABULAR: "a tabular model", TEXT: "a transformer over tokens",
              "tokens": "a token model without attention", "other": "a model with several or unusual inputs"}


def fitting_methods(kind: str) -> list[str]:
    return [name for name, (kinds, _) in METHODS.items() if kind in kinds]


def check_method(method: str, kind: str, *, has_conv: bool = True) -> None:
    """Refuse a method that does not fit the model, naming those that do."""
    if method not in METHODS:
        raise UserError(f"--method {method!r}: no such method (known: {', '.join(METHODS)})")
    fits = [m for m in fitting_methods(kind) if m != "gradcam" or has_conv]
    if method in fits:
        return
    what = KIND_WORDS.get(kind, kind)
    if method == "gradcam" and kind == IMAGE:
        reason = "the model has no convolution layer for Grad-CAM to look at"
    else:
        reason = f"{method} explains {' or '.join(KIND_WORDS[k] for k in METHODS[method][0])}, and this is {what}"
    offer = f"methods that fit it: {', '.join(fits)}" if fits else "no method here fits it"
    raise UserError(f"--method {method}: {reason}; {offer}")
