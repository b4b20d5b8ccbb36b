"""What the bundled model can draw, in both languages, for `moviola models` and for the warning
on prompts that use none of it. Built from the caption tables the model was trained on."""
import importlib

captions = importlib.import_module("training.world.caption")  # the module, not the function of the same name
from training.world import vocab  # noqa: E402


def vocabulary() -> dict:
    kinds = {k: {"en": sorted({w for _, s, p in captions.KIND_EN[k] for w in (s, p)}),
                 "zh": sorted({name for _, name in captions.KIND_ZH[k]})} for k in vocab.KINDS}
    colours = {c: {"en": sorted(set(captions.COLOUR_EN[c])), "zh": sorted(set(captions.COLOUR_ZH[c]))}
               for c in vocab.COLOUR_NAMES}
    backgrounds = {b: {"en": captions.BACKGROUND_EN[b], "zh": captions.BACKGROUND_ZH[b] + captions.BACKGROUND_NOUN_ZH[b]}
                   for b in vocab.BACKGROUNDS}
    return {
        "kinds": kinds,
        "colours": colours,
        "counts": list(vocab.COUNTS),
        "motions": list(vocab.MOTIONS),
        "speeds": list(vocab.SPEEDS),
        "backgrounds": backgrounds,
        "cameras": list(vocab.CAMERAS),
        "aspects": list(vocab.ASPECTS),
    }


# The attributes of a scene a caption states, with their values in a fixed order: the classes of the
# text encoder's attribute heads (train.AttributeHeads).
ATTRIBUTES = {
    "kind": vocab.KINDS,
    "colour": vocab.COLOUR_NAMES,
    "count": vocab.COUNTS,
    "motion": vocab.MOTIONS,
    "speed": vocab.SPEEDS + (vocab.NO_SPEED,),
    "background": vocab.BACKGROUNDS,
    "camera": vocab.CAMERAS,
    "camera_speed": vocab.SPEEDS + (vocab.NO_SPEED,),
}
