"""English and Simplified Chinese captions from many paraphrase templates.

Every caption names the count, colour and kind, the motion (with its speed), the background and
the camera move (or that the camera is static). Counts appear as digits ("3"),
words ("three") and Chinese numerals with the kind's measure word ("三条鱼", "两辆车").

English phrases mark verb agreement as [singular|plural|gerund], e.g. "[moves|move|moving]".
"""

from __future__ import annotations

import re
from typing import Any

from . import rng as R
from .scene import Scene

LANGUAGES = ("en", "zh")

# ------------------------------------------------------------------------------------------ English

NUMBER_WORDS_EN = {1: "one", 2: "two", 3: "three", 4: "four"}

# (adjective before the colour, singular, plural)
KIND_EN: dict[str, list[tuple[str, str, str]]] = {
    "ball": [("", "ball", "balls"), ("", "sphere", "spheres"), ("", "ball", "balls")],
    "cube": [("", "cube", "cubes"), ("", "block", "blocks"), ("", "box", "boxes")],
    "triangle": [("", "triangle", "triangles"), ("", "triangle shape", "triangle shapes")],
    "star": [("", "star", "stars"), ("", "five-pointed star", "five-pointed stars")],
    "heart": [("", "heart", "hearts"), ("", "heart shape", "heart shapes")],
    "ring": [("", "ring", "rings"), ("", "hoop", "hoops"), ("", "donut-shaped ring", "donut-shaped rings")],
    "car": [("", "car", "cars"), ("", "toy car", "toy cars"), ("little", "car", "cars")],
    "fish": [("", "fish", "fish"), ("little", "fish", "fish")],
    "bird": [("", "bird", "birds"), ("little", "bird", "birds")],
    "tree": [("", "tree", "trees"), ("little", "tree", "trees")],
    "house": [("", "house", "houses"), ("little", "house", "houses"), ("", "cottage", "cottages")],
    "sun": [("", "sun", "suns"), ("", "cartoon sun", "cartoon suns")],
    "moon": [("", "moon", "moons"), ("", "crescent moon", "crescent moons")],
    "cloud": [("", "cloud", "clouds"), ("fluffy", "cloud", "clouds")],
}

COLOUR_EN: dict[str, list[str]] = {
    "red": ["red", "red", "bright red"], "orange": ["orange"], "yellow": ["yellow", "bright yellow"],
    "green": ["green"], "blue": ["blue"], "purple": ["purple", "purple", "violet"], "pink": ["pink"],
    "white": ["white", "white", "snow-white"], "black": ["black"], "brown": ["brown"],
}

# {adv}: a one-word adverb before the verb; {advp}: an adverb or adverbial phrase after it.
ADV_EN = {"slow": ["slowly", "gently", "slowly"], "fast": ["quickly", "rapidly", "swiftly", "fast"]}
ADVP_EN = {"slow": ["slowly", "gently", "at a slow pace", "unhurriedly"],
           "fast": ["quickly", "rapidly", "swiftly", "at high speed", "fast"]}
ADV_PRE_EN = {"slow": ["slowly", "gently"], "fast": ["quickly", "rapidly", "swiftly"]}

MOTION_EN: dict[str, list[str]] = {
    "still": ["[stays|stay|staying] still", "[sits|sit|sitting] motionless",
              "[does not move|do not move|not moving]", "[remains|remain|remaining] in place"],
    "left": ["[moves|move|moving] {advp} to the left", "[slides|slide|sliding] {advp} from right to left",
             "{adv} [travels|travel|traveling] leftward", "[drifts|drift|drifting] {advp} toward the left",
             "[heads|head|heading] left {advp}"],
    "right": ["[moves|move|moving] {advp} to the right", "[slides|slide|sliding] {advp} from left to right",
              "{adv} [travels|travel|traveling] rightward", "[drifts|drift|drifting] {advp} toward the right",
              "[heads|head|heading] right {advp}"],
    "up": ["[moves|move|moving] {advp} upward", "{adv} [goes|go|going] straight up",
           "[travels|travel|traveling] {advp} from bottom to top", "[climbs|climb|climbing] {advp} upward"],
    "down": ["[moves|move|moving] {advp} downward", "{adv} [goes|go|going] straight down",
             "[travels|travel|traveling] {advp} from top to bottom", "[slides|slide|sliding] down {advp}"],
    "bounce": ["[bounces|bounce|bouncing] {advp}", "[bounces|bounce|bouncing] up and down {advp}",
               "{adv} [hops|hop|hopping] up and down", "[jumps|jump|jumping] {advp} up and down"],
    "fall": ["[falls|fall|falling] {advp}", "[drops|drop|dropping] {advp} from above",
             "{adv} [tumbles|tumble|tumbling] down", "[falls|fall|falling] {advp} toward the bottom"],
    "rise": ["[rises|rise|rising] {advp}", "{adv} [floats|float|floating] upward",
             "[ascends|ascend|ascending] {advp}", "[rises|rise|rising] {advp} into the air"],
    "rotate": ["[spins|spin|spinning] {advp}", "[rotates|rotate|rotating] {advp} clockwise",
               "{adv} [turns|turn|turning] around in place", "[spins|spin|spinning] {advp} in place"],
    "grow": ["[grows|grow|growing] {advp}", "{adv} [gets|get|getting] bigger",
             "[expands|expand|expanding] {advp}", "[grows|grow|growing] larger {advp}"],
    "shrink": ["[shrinks|shrink|shrinking] {advp}", "{adv} [gets|get|getting] smaller",
               "[shrinks|shrink|shrinking] in size {advp}", "[contracts|contract|contracting] {advp}"],
    "orbit": ["[circles|circle|circling] {advp} around the center", "[moves|move|moving] {advp} in a circle",
              "{adv} [orbits|orbit|orbiting] the middle of the frame", "[goes|go|going] round in a circle {advp}"],
    "zigzag": ["[zigzags|zigzag|zigzagging] {advp} from left to right",
               "[moves|move|moving] {advp} in a zigzag to the right",
               "{adv} [zigzags|zigzag|zigzagging] toward the right",
               "[follows|follow|following] a zigzag path to the right {advp}"],
}

BACKGROUND_EN: dict[str, list[str]] = {
    "plain_gray": ["on a plain grey background", "against a grey backdrop", "on a flat gray background",
                   "in front of a plain grey wall"],
    "plain_beige": ["on a beige background", "against a cream-colored backdrop", "on a plain beige background"],
    "plain_teal": ["on a teal background", "against a dark teal backdrop", "on a plain blue-green background"],
    "sky": ["in a clear blue sky", "against a blue sky", "under a bright blue sky", "in the sky"],
    "grass": ["above a green meadow", "over a grassy field under a blue sky", "above green grass",
              "in front of a grassy field"],
    "water": ["over blue water", "above rippling water", "against a background of gentle waves",
              "over the sea"],
    "night": ["in the night sky", "under a starry sky", "against a starry night", "at night among the stars"],
    "snow": ["in the falling snow", "on a snowy day", "amid falling snowflakes", "with snowflakes drifting down"],
    "rain": ["in the rain", "on a rainy day", "amid falling rain", "in a rain shower"],
}

# Camera: full clauses ("the camera slowly zooms in") and short noun phrases ("a slow zoom in").
CAMERA_EN: dict[str, list[str]] = {
    "static": ["the camera stays still", "the camera does not move", "the camera is static",
               "the shot stays fixed"],
    "zoom_in": ["the camera {adv} zooms in", "the camera zooms in {advp}", "the view {adv} zooms in"],
    "zoom_out": ["the camera {adv} zooms out", "the camera zooms out {advp}", "the view {adv} zooms out"],
    "truck_left": ["the camera {adv} trucks left", "the camera slides {advp} to the left",
                   "the camera {adv} moves sideways to the left"],
    "truck_right": ["the camera {adv} trucks right", "the camera slides {advp} to the right",
                    "the camera {adv} moves sideways to the right"],
    "pedestal_up": ["the camera {adv} rises", "the camera moves straight up {advp}",
                    "the camera {adv} pedestals up"],
    "pedestal_down": ["the camera {adv} lowers", "the camera moves straight down {advp}",
                      "the camera {adv} pedestals down"],
    "pan_left": ["the camera {adv} pans left", "the camera pans to the left {advp}",
                 "the camera {adv} turns to the left"],
    "pan_right": ["the camera {adv} pans right", "the camera pans to the right {advp}",
                  "the camera {adv} turns to the right"],
    "tilt_up": ["the camera {adv} tilts up", "the camera tilts upward {advp}", "the camera {adv} tilts upward"],
    "tilt_down": ["the camera {adv} tilts down", "the camera tilts downward {advp}",
                  "the camera {adv} tilts downward"],
    "roll_clockwise": ["the camera {adv} rolls clockwise", "the camera rotates clockwise {advp}",
                       "the camera {adv} rolls to the right"],
    "roll_counterclockwise": ["the camera {adv} rolls counterclockwise",
                              "the camera rotates counterclockwise {advp}", "the camera {adv} rolls to the left"],
}
CAMERA_NOUN_EN: dict[str, list[str]] = {
    "static": ["Static camera.", "Fixed shot.", "Locked-off shot.", "Static shot."],
    "zoom_in": ["{Adj} zoom in."], "zoom_out": ["{Adj} zoom out."],
    "truck_left": ["{Adj} truck left.", "{Adj} tracking shot to the left."],
    "truck_right": ["{Adj} truck right.", "{Adj} tracking shot to the right."],
    "pedestal_up": ["{Adj} pedestal up."], "pedestal_down": ["{Adj} pedestal down."],
    "pan_left": ["{Adj} pan left."], "pan_right": ["{Adj} pan right."],
    "tilt_up": ["{Adj} tilt up."], "tilt_down": ["{Adj} tilt down."],
    "roll_clockwise": ["{Adj} clockwise roll."], "roll_counterclockwise": ["{Adj} counterclockwise roll."],
}
CAMERA_ADJ_EN = {"slow": ["Slow", "Gentle", "Slow"], "fast": ["Fast", "Quick", "Rapid"]}

# Sentence patterns. {NP} noun phrase, {V} finite verb phrase, {Vb} bare infinitive, {Ving} gerund,
# {BG} background phrase, {BE} is/are, {CAM} camera clause, {CAMS} camera sentence.
TEMPLATES_EN: list[str] = [
    "{NP} {V} {BG}. {CAMS}",
    "{BG}, {NP} {V}. {CAMS}",
    "A video of {NP} {Ving} {BG}; {CAM}.",
    "{NP} {V} {BG} while {CAM}.",
    "{CAMS} {NP} {V} {BG}.",
    "There {BE} {NP} {BG}, {Ving}. {CAMS}",
    "In this clip, {NP} {V} {BG}, and {CAM}.",
    "As {CAM}, {NP} {V} {BG}.",
    "Animation of {NP} {Ving} {BG}. {CAMS}",
    "{BG}: {NP} {V}. {CAMS}",
    "Watch {NP} {Vb} {BG} as {CAM}.",
    "A simple cartoon: {NP} {V} {BG}. {CAMS}",
    "{NP}, {Ving} {BG}. {CAMS}",
    "Here {BE} {NP} {Ving} {BG}, and {CAM}.",
    "We see {NP} {Vb} {BG} while {CAM}.",
    "A short clip of {NP} that {V} {BG}. {CAMS}",
    "{NP} can be seen {Ving} {BG}. {CAMS}",
    "Video: {NP} {V} {BG}, {CAM}.",
]

_AGREE = re.compile(r"\[([^|\]]*)\|([^|\]]*)\|([^|\]]*)\]")


def _agree(phrase: str, form: int) -> str:
    return _AGREE.sub(lambda m: m.group(1 + form), phrase)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _np_en(scene: Scene, rng: Any) -> str:
    pre, sing, plur = R.choice(rng, KIND_EN[scene.kind])
    colour = R.choice(rng, COLOUR_EN[scene.colour])
    words = " ".join(w for w in (pre, colour) if w)
    n = scene.count
    if n == 1:
        style = R.below(rng, 4)
        if style == 0:
            return f"one {words} {sing}"
        if style == 1:
            return f"a single {words} {sing}"
        return f"{_article(words)} {words} {sing}"
    number = str(n) if R.below(rng, 2) == 0 else NUMBER_WORDS_EN[n]
    return f"{number} {words} {plur}"


def _fill_adverbs(phrase: str, speed: str, rng: Any) -> str:
    if speed not in ADV_EN:
        return phrase.replace("{adv}", "").replace("{advp}", "")
    return (phrase.replace("{adv}", R.choice(rng, ADV_PRE_EN[speed]))
                  .replace("{advp}", R.choice(rng, ADVP_EN[speed])))


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:]


def caption_en(scene: Scene, rng: Any) -> str:
    np_ = _np_en(scene, rng)
    plural = scene.count > 1
    motion = _fill_adverbs(R.choice(rng, MOTION_EN[scene.motion]), scene.speed, rng)
    bg = R.choice(rng, BACKGROUND_EN[scene.background])
    cam = _fill_adverbs(R.choice(rng, CAMERA_EN[scene.camera]), scene.camera_speed, rng)
    if scene.camera == "static" and R.below(rng, 2) == 0:
        cams = R.choice(rng, CAMERA_NOUN_EN["static"])
    elif scene.camera != "static" and R.below(rng, 3) == 0:
        cams = R.choice(rng, CAMERA_NOUN_EN[scene.camera]).replace(
            "{Adj}", R.choice(rng, CAMERA_ADJ_EN[scene.camera_speed]))
    else:
        cams = _capitalise(cam) + "."
    template = R.choice(rng, TEMPLATES_EN)
    out = template.format(
        NP=np_, V=_agree(motion, 1 if plural else 0), Vb=_agree(motion, 1), Ving=_agree(motion, 2),
        BG=bg, BE="are" if plural else "is", CAM=cam, CAMS=cams)
    out = re.sub(r"\s+", " ", out).strip()
    out = out.replace(" ,", ",").replace(" .", ".").replace(" ;", ";").replace(" :", ":")
    # capitalise sentence starts
    out = re.sub(r"(^|[.]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), out)
    return out


# ------------------------------------------------------------------------------------------ Chinese

NUMERALS_ZH = {1: "一", 2: "两", 3: "三", 4: "四"}

# (measure word, noun) pairs that go together.
KIND_ZH: dict[str, list[tuple[str, str]]] = {
    "ball": [("个", "球"), ("个", "小球"), ("个", "圆球")],
    "cube": [("个", "立方体"), ("个", "正方体"), ("块", "方块"), ("个", "方块")],
    "triangle": [("个", "三角形"), ("个", "三角")],
    "star": [("颗", "星星"), ("个", "五角星"), ("颗", "五角星")],
    "heart": [("颗", "心"), ("个", "爱心"), ("颗", "爱心"), ("个", "心形")],
    "ring": [("个", "圆环"), ("个", "环"), ("个", "圆圈")],
    "car": [("辆", "汽车"), ("辆", "小汽车"), ("辆", "车"), ("辆", "小车")],
    "fish": [("条", "鱼"), ("条", "小鱼")],
    "bird": [("只", "鸟"), ("只", "小鸟")],
    "tree": [("棵", "树"), ("棵", "小树")],
    "house": [("座", "房子"), ("栋", "房子"), ("座", "小房子"), ("间", "小屋")],
    "sun": [("轮", "太阳"), ("个", "太阳")],
    "moon": [("轮", "月亮"), ("弯", "月亮"), ("个", "月亮"), ("弯", "新月")],
    "cloud": [("朵", "云"), ("朵", "云朵"), ("片", "云")],
}

COLOUR_ZH: dict[str, list[str]] = {
    "red": ["红色", "红"], "orange": ["橙色", "橘色", "橙"], "yellow": ["黄色", "黄"],
    "green": ["绿色", "绿"], "blue": ["蓝色", "蓝"], "purple": ["紫色", "紫"],
    "pink": ["粉色", "粉红色", "粉红"], "white": ["白色", "白"], "black": ["黑色", "黑"],
    "brown": ["棕色", "褐色", "咖啡色"],
}

ADV_ZH = {"slow": ["缓慢地", "慢慢地", "缓缓地", "慢悠悠地"], "fast": ["快速地", "迅速地", "飞快地", "很快地"]}
CAM_ADV_ZH = {"slow": ["缓慢", "慢慢", "缓缓"], "fast": ["快速", "迅速", "急速"]}

MOTION_ZH: dict[str, list[str]] = {
    "still": ["静止不动", "一动不动", "停在原地", "保持静止"],
    "left": ["{adv}向左移动", "从右向左{adv}移动", "{adv}向左滑动", "{adv}朝左边移去", "{adv}往左移动"],
    "right": ["{adv}向右移动", "从左向右{adv}移动", "{adv}向右滑动", "{adv}朝右边移去", "{adv}往右移动"],
    "up": ["{adv}向上移动", "从下往上{adv}移动", "{adv}向上滑动", "{adv}朝上方移动"],
    "down": ["{adv}向下移动", "从上往下{adv}移动", "{adv}向下滑动", "{adv}朝下方移动"],
    "bounce": ["{adv}上下弹跳", "{adv}弹跳", "{adv}蹦蹦跳跳", "{adv}跳上跳下"],
    "fall": ["{adv}落下", "{adv}往下掉", "从上方{adv}坠落", "{adv}掉落下来"],
    "rise": ["{adv}升起", "{adv}向上飘升", "{adv}上升", "{adv}升上去"],
    "rotate": ["{adv}旋转", "{adv}顺时针旋转", "{adv}原地转动", "在原地{adv}转圈"],
    "grow": ["{adv}变大", "{adv}逐渐变大", "{adv}放大", "{adv}膨胀起来"],
    "shrink": ["{adv}变小", "{adv}逐渐缩小", "{adv}缩小", "{adv}收缩"],
    "orbit": ["{adv}绕着画面中心转圈", "{adv}做圆周运动", "沿着圆形轨道{adv}移动", "{adv}绕圈移动"],
    "zigzag": ["{adv}呈之字形从左向右移动", "{adv}沿之字形路线向右前进", "从左向右{adv}走出之字形路线",
               "{adv}以Z字形向右移动"],
}

# Location phrases (在…) and noun phrases (背景是…).
BACKGROUND_ZH: dict[str, list[str]] = {
    "plain_gray": ["在灰色背景上", "在灰色的背景前", "在纯灰色背景中"],
    "plain_beige": ["在米色背景上", "在米黄色的背景前", "在浅米色背景中"],
    "plain_teal": ["在青色背景上", "在蓝绿色的背景前", "在深青色背景中"],
    "sky": ["在蓝天中", "在蓝色的天空中", "在晴朗的天空里"],
    "grass": ["在草地上方", "在绿色的草地上空", "在草坪上方"],
    "water": ["在水面上方", "在蓝色的水面上", "在波光粼粼的水面上"],
    "night": ["在星空下", "在夜空中", "在满天繁星的夜晚"],
    "snow": ["在飘雪中", "在下雪的天空下", "在纷飞的雪花中"],
    "rain": ["在雨中", "在下雨天里", "在淅淅沥沥的雨中"],
}
BACKGROUND_NOUN_ZH: dict[str, list[str]] = {
    "plain_gray": ["纯灰色", "灰色的墙面"], "plain_beige": ["米色", "米黄色的墙面"],
    "plain_teal": ["青色", "蓝绿色"], "sky": ["蓝天", "晴朗的蓝天"],
    "grass": ["绿色的草地和蓝天", "草地"], "water": ["微波荡漾的水面", "蓝色的大海"],
    "night": ["繁星点点的夜空", "夜晚的星空"], "snow": ["飘雪的冬日", "下着雪的天空"],
    "rain": ["下雨的阴天", "雨天"],
}

CAMERA_ZH: dict[str, list[str]] = {
    "static": ["镜头固定不动", "镜头保持静止", "摄像机没有移动", "镜头一直不动"],
    "zoom_in": ["镜头{adv}拉近", "镜头{adv}推近", "镜头{adv}放大画面", "摄像机{adv}变焦推进"],
    "zoom_out": ["镜头{adv}拉远", "镜头{adv}向后拉开", "镜头{adv}缩小画面", "摄像机{adv}变焦拉远"],
    "truck_left": ["镜头{adv}向左平移", "摄像机{adv}向左横移", "镜头{adv}往左移动"],
    "truck_right": ["镜头{adv}向右平移", "摄像机{adv}向右横移", "镜头{adv}往右移动"],
    "pedestal_up": ["镜头{adv}垂直上升", "摄像机{adv}向上平移", "镜头{adv}升高"],
    "pedestal_down": ["镜头{adv}垂直下降", "摄像机{adv}向下平移", "镜头{adv}降低"],
    "pan_left": ["镜头{adv}向左摇", "镜头{adv}向左摇摄", "摄像机{adv}向左转动"],
    "pan_right": ["镜头{adv}向右摇", "镜头{adv}向右摇摄", "摄像机{adv}向右转动"],
    "tilt_up": ["镜头{adv}向上摇", "镜头{adv}上仰", "摄像机{adv}向上倾斜"],
    "tilt_down": ["镜头{adv}向下摇", "镜头{adv}下俯", "摄像机{adv}向下倾斜"],
    "roll_clockwise": ["镜头{adv}顺时针旋转", "摄像机{adv}顺时针滚转", "镜头{adv}顺时针转动"],
    "roll_counterclockwise": ["镜头{adv}逆时针旋转", "摄像机{adv}逆时针滚转", "镜头{adv}逆时针转动"],
}

# {NP} noun phrase, {BG} location phrase, {BGN} background noun, {VP} verb phrase with adverb,
# {CAM} camera clause, {IT} 它/它们.
TEMPLATES_ZH: list[str] = [
    "{BG}，{NP}{VP}，{CAM}。",
    "{NP}{BG}{VP}。{CAM}。",
    "画面中，{NP}{BG}{VP}，{CAM}。",
    "一段视频：{NP}{BG}{VP}，{CAM}。",
    "{CAM}，{NP}{BG}{VP}。",
    "视频里有{NP}，{IT}{BG}{VP}。{CAM}。",
    "{NP}正{BG}{VP}，{CAM}。",
    "{NP}{VP}，背景是{BGN}，{CAM}。",
    "动画：{NP}{BG}{VP}，{CAM}。",
    "可以看到{NP}{BG}{VP}，同时{CAM}。",
    "镜头里，{NP}{VP}，背景是{BGN}。{CAM}。",
    "一个简单的卡通场景：{NP}{BG}{VP}，{CAM}。",
    "短片中，{NP}{BG}{VP}，{CAM}。",
    "只见{NP}{BG}{VP}，{CAM}。",
    "{NP}{VP}，{CAM}，背景是{BGN}。",
    "这段视频展示了{NP}{BG}{VP}的画面，{CAM}。",
    "{BG}，有{NP}{VP}。{CAM}。",
]


def measure_words(kind: str) -> list[str]:
    """Measure words the Chinese captions use for `kind` (e.g. ["辆"] for car)."""
    return sorted({mw for mw, _ in KIND_ZH[kind]})


def count_phrases_zh(kind: str, count: int) -> list[str]:
    """Every numeral + measure word the Chinese caption may use, e.g. ["两辆", "2辆"]."""
    return [num + mw for mw in measure_words(kind) for num in (NUMERALS_ZH[count], str(count))]


def _np_zh(scene: Scene, rng: Any) -> str:
    mw, noun = R.choice(rng, KIND_ZH[scene.kind])
    number = str(scene.count) if R.below(rng, 4) == 0 else NUMERALS_ZH[scene.count]
    colour = R.choice(rng, COLOUR_ZH[scene.colour])
    if colour.endswith("色"):
        # "红色的球" / "红色小汽车"; a one-character noun after "X色" needs 的 ("黑色的心").
        colour_part = colour + ("的" if len(noun) == 1 or R.below(rng, 2) == 0 else "")
    elif noun.startswith("小"):
        colour_part = colour + "色的"   # not "紫小鸟"
    else:
        colour_part = colour            # "红球", "白云", "黑方块"
    return f"{number}{mw}{colour_part}{noun}"


def caption_zh(scene: Scene, rng: Any) -> str:
    np_ = _np_zh(scene, rng)
    vp = R.choice(rng, MOTION_ZH[scene.motion])
    vp = vp.replace("{adv}", R.choice(rng, ADV_ZH[scene.speed]) if scene.speed in ADV_ZH else "")
    cam = R.choice(rng, CAMERA_ZH[scene.camera])
    cam = cam.replace("{adv}", R.choice(rng, CAM_ADV_ZH[scene.camera_speed]) if scene.camera_speed in CAM_ADV_ZH else "")
    bg = R.choice(rng, BACKGROUND_ZH[scene.background])
    bgn = R.choice(rng, BACKGROUND_NOUN_ZH[scene.background])
    template = R.choice(rng, TEMPLATES_ZH)
    return template.format(NP=np_, VP=vp, CAM=cam, BG=bg, BGN=bgn, IT="它们" if scene.count > 1 else "它")


def caption(scene: Scene, language: str = "en", rng: Any = None) -> str:
    """A caption of `scene` in "en" or "zh". `rng` is a seed or anything with `random()`; when None
    the caption is derived from the scene's seed (so it is fixed per scene and language)."""
    if rng is None:
        rng = R.Rng(R.derive_seed(scene.seed, "caption", language))
    rng = R.as_rng(rng)
    if language == "en":
        return caption_en(scene, rng)
    if language == "zh":
        return caption_zh(scene, rng)
    raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
