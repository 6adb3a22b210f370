"""A generated knowledge corpus in English and Japanese whose right answers are known.

Each entity (a town, a lake, an inventor, a festival) has two chunks about different facets, and each chunk has one
question written in other words; the other chunk about the same entity shares its name, so finding the right one
takes more than matching the name. Deterministic for a seed; used by the recall test and bench/knowledge.py.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

_EN_SYLLABLES = [
    "var",
    "mor",
    "ten",
    "dal",
    "kes",
    "bri",
    "lo",
    "nar",
    "fen",
    "ost",
    "ul",
    "ria",
    "den",
    "hal",
    "wick",
    "sa",
    "tor",
    "mel",
    "gra",
    "quin",
]
_JA_SYLLABLES = list("カミナセリトヨルサハノクアロテマキソヒレ")

EN = {
    "region": ["northern", "southern", "eastern", "western", "windy", "rocky"],
    "product": ["smoked herring", "oysters", "seaweed bread", "salted cod", "crab cakes", "mussels"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
    "job": ["blacksmith", "sailor", "weaver", "clockmaker", "miller", "glassblower"],
    "object": ["compass", "hammer", "loom", "pocket watch", "lantern", "walking stick"],
    "device": ["steam kettle", "folding ladder", "tide clock", "rain gauge", "lamp wick trimmer", "wind organ"],
    "subject": ["astronomy", "botany", "mechanics", "geology", "music theory", "navigation"],
    "city": ["Arden", "Belmont", "Corvel", "Dunmore", "Estry", "Fallow"],
    "month": ["January", "March", "May", "July", "September", "November"],
    "food": ["barley stew", "honey cakes", "roast chestnuts", "plum dumplings", "fish soup", "pepper bread"],
    "first": ["Anna", "Boris", "Clara", "Dmitri", "Elise", "Felix"],
}
JA = {
    "region": ["北部", "南部", "東部", "西部", "風の強い", "岩の多い"],
    "product": ["燻製ニシン", "牡蠣", "海藻パン", "塩ダラ", "カニコロッケ", "ムール貝"],
    "weekday": ["月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"],
    "job": ["鍛冶屋", "船乗り", "織物職人", "時計職人", "粉屋", "ガラス職人"],
    "object": ["羅針盤", "金槌", "織機", "懐中時計", "ランタン", "杖"],
    "device": ["蒸気やかん", "折りたたみはしご", "潮時計", "雨量計", "灯芯切り", "風のオルガン"],
    "subject": ["天文学", "植物学", "機械工学", "地質学", "音楽理論", "航海術"],
    "city": ["アーデン", "ベルモント", "コーベル", "ダンモア", "エストリ", "ファロー"],
    "month": ["一月", "三月", "五月", "七月", "九月", "十一月"],
    "food": ["大麦のシチュー", "はちみつケーキ", "焼き栗", "梅団子", "魚のスープ", "胡椒パン"],
    "first": ["アンナ", "ボリス", "クララ", "ドミトリ", "エリーゼ", "フェリクス"],
}

# (chunk template, question template) per kind and facet; {N} is the entity's name.
EN_TEMPLATES = {
    "town": [
        (
            "{N} is a harbour town on the {region} coast. Its fish market sells {product} every {weekday} "
            "morning, and about {pop} people live there.",
            "On which day of the week can you buy {product} at the market in {N}?",
        ),
        (
            "{N} was founded in {year} by {first} {N2}, a {job}. The old town hall still keeps the founder's {object}.",
            "Who established the town of {N}, and when?",
        ),
    ],
    "lake": [
        (
            "Lake {N} lies {alt} metres above sea level in the {region} highlands and is {depth} metres deep at "
            "its deepest point.",
            "How deep does Lake {N} get?",
        ),
        (
            "Every summer swimmers race across Lake {N}; the record of {mins} minutes was set by {first} {N2} in "
            "{year}.",
            "Who holds the fastest time for swimming across Lake {N}?",
        ),
    ],
    "inventor": [
        (
            "{first} {N} invented the {device} in {year} while working as a {job} in {city}.",
            "What device is {first} {N} known for creating?",
        ),
        (
            "In later life {first} {N} taught {subject} at the university of {city} and wrote {books} books.",
            "Which subject did {first} {N} lecture on at university?",
        ),
    ],
    "festival": [
        (
            "The {N} festival takes place each {month}; visitors light {count} lanterns along the river.",
            "During which month is the {N} festival celebrated?",
        ),
        (
            "The traditional dish of the {N} festival is {food}, cooked in large copper pots by the elders of {city}.",
            "What do people eat at the {N} festival?",
        ),
    ],
}
JA_TEMPLATES = {
    "town": [
        (
            "{N}は{region}の海岸にある港町です。毎週{weekday}の朝、魚市場で{product}が売られ、人口は約{pop}人です。",
            "{N}の市場で{product}が買えるのは何曜日ですか？",
        ),
        (
            "{N}は{year}年に{job}の{first}・{N2}によって築かれました。旧町役場には今も創設者の{object}が保管されています。",
            "{N}の町を作ったのは誰で、いつですか？",
        ),
    ],
    "lake": [
        (
            "{N}湖は{region}高原の標高{alt}メートルにあり、最も深い所で水深{depth}メートルです。",
            "{N}湖はどのくらい深いですか？",
        ),
        (
            "毎年夏に{N}湖の横断水泳大会が開かれ、{year}年に{first}・{N2}が{mins}分の記録を出しました。",
            "{N}湖を泳いで渡る最速記録を持っているのは誰ですか？",
        ),
    ],
    "inventor": [
        (
            "{first}・{N}は{year}年、{city}で{job}として働きながら{device}を発明しました。",
            "{first}・{N}が作り出した装置は何ですか？",
        ),
        (
            "晩年、{first}・{N}は{city}の大学で{subject}を教え、{books}冊の本を書きました。",
            "{first}・{N}が大学で講義した科目は何ですか？",
        ),
    ],
    "festival": [
        ("{N}祭りは毎年{month}に行われ、川沿いに{count}個の灯籠がともされます。", "{N}祭りが開かれるのは何月ですか？"),
        (
            "{N}祭りの名物料理は{food}で、{city}の長老たちが大きな銅鍋で作ります。",
            "{N}祭りではどんな料理が食べられますか？",
        ),
    ],
}


# Questions that do not name the entity: the two slots identify the chunk (their pair is unique per kind).
EN_NAMELESS = {
    "town": [
        (("product", "weekday"), "Which harbour town sells {product} at its market every {weekday}?"),
        (("job", "object"), "Which town was founded by a {job} whose {object} is kept in the town hall?"),
    ],
    "lake": [
        (("region", "depth"), "Which lake in the {region} highlands is {depth} metres deep?"),
        (("mins", "first"), "At which lake did {first} set a swimming record of {mins} minutes?"),
    ],
    "inventor": [
        (("device", "job"), "Who invented the {device} while working as a {job}?"),
        (("subject", "city"), "Who taught {subject} at the university of {city}?"),
    ],
    "festival": [
        (("month", "count"), "Which festival lights {count} lanterns by the river in {month}?"),
        (("food", "city"), "At which festival do the elders of {city} cook {food}?"),
    ],
}
JA_NAMELESS = {
    "town": [
        (("product", "weekday"), "毎週{weekday}に市場で{product}が売られる港町はどこですか？"),
        (("job", "object"), "{job}が築き、創設者の{object}を町役場に保管している町はどこですか？"),
    ],
    "lake": [
        (("region", "depth"), "{region}高原にある水深{depth}メートルの湖はどれですか？"),
        (("mins", "first"), "{first}が{mins}分の水泳記録を出した湖はどこですか？"),
    ],
    "inventor": [
        (("device", "job"), "{job}として働きながら{device}を発明したのは誰ですか？"),
        (("subject", "city"), "{city}の大学で{subject}を教えたのは誰ですか？"),
    ],
    "festival": [
        (("month", "count"), "{month}に川沿いで{count}個の灯籠をともす祭りはどれですか？"),
        (("food", "city"), "{city}の長老たちが{food}を作る祭りはどれですか？"),
    ],
}


@dataclass(frozen=True)
class Question:
    language: str
    text: str
    answer: str  # the content of the right chunk
    named: bool = True  # the question names the entity


@dataclass
class Corpus:
    documents: dict[str, list[str]]  # document name -> chunks in order
    questions: list[Question]

    @property
    def chunk_count(self) -> int:
        return sum(len(chunks) for chunks in self.documents.values())


def _names(syllables: list[str], rng: random.Random, count: int, sizes: tuple[int, ...], joiner: str = "") -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    pool = [p for n in sizes for p in itertools.product(syllables, repeat=n)]
    rng.shuffle(pool)
    for parts in pool:
        name = joiner.join(parts)
        if name not in seen:
            seen.add(name)
            names.append(name[0].upper() + name[1:])
        if len(names) == count:
            break
    return names


def _distinct(rng: random.Random, low: int, high: int, count: int) -> list[int]:
    if count <= high - low:
        return rng.sample(range(low, high), count)
    return [rng.randrange(low, high) for _ in range(count)]


def _unique_pairs(
    rng: random.Random, vocab: dict[str, list[str]], numbers: dict[str, list[int]], keys: tuple[str, str], count: int
) -> list[tuple[object, object]]:
    """`count` distinct value pairs for two slots (numbers come from their already distinct lists)."""
    if any(k in numbers for k in keys):
        picks = [tuple(numbers[k][i] if k in numbers else rng.choice(vocab[k]) for k in keys) for i in range(count)]
        return picks  # type: ignore[return-value]
    combos = list(itertools.product(vocab[keys[0]], vocab[keys[1]]))
    rng.shuffle(combos)
    # Past 36 entities of a kind the pairs repeat (bench-sized corpora): nameless questions become ambiguous there.
    return [combos[i % len(combos)] for i in range(count)]


def build_corpus(per_kind: int = 15, seed: int = 7, chunks_per_document: int = 20) -> Corpus:
    """`per_kind` entities of each of 4 kinds, in each language: 16 * per_kind chunks (240 for the default)."""
    rng = random.Random(seed)
    chunks: dict[str, list[str]] = {"en": [], "ja": []}
    questions: list[Question] = []
    for language, vocab, templates, nameless, syllables, sizes in (
        ("en", EN, EN_TEMPLATES, EN_NAMELESS, _EN_SYLLABLES, (3, 4)),
        ("ja", JA, JA_TEMPLATES, JA_NAMELESS, _JA_SYLLABLES, (3, 4)),
    ):
        names = _names(syllables, rng, per_kind * len(templates) * 2, sizes)
        it = iter(names)
        for kind, facets in templates.items():
            numbers = {
                key: _distinct(rng, low, high, per_kind)
                for key, (low, high) in {
                    "pop": (300, 90000),
                    "year": (1200, 1990),
                    "alt": (200, 3000),
                    "depth": (5, 400),
                    "mins": (20, 200),
                    "books": (2, 60),
                    "count": (100, 5000),
                }.items()
            }
            pairs = [_unique_pairs(rng, vocab, numbers, keys, per_kind) for keys, _ in nameless[kind]]
            for i in range(per_kind):
                slots: dict[str, object] = {key: rng.choice(values) for key, values in vocab.items()}
                slots.update({key: values[i] for key, values in numbers.items()})
                for (keys, _), chosen in zip(nameless[kind], pairs, strict=True):
                    slots.update(zip(keys, chosen[i], strict=True))
                slots.update(N=next(it), N2=next(it))
                for (chunk_template, question_template), (_, nameless_template) in zip(
                    facets, nameless[kind], strict=True
                ):
                    content = chunk_template.format(**slots)
                    chunks[language].append(content)
                    questions.append(Question(language, question_template.format(**slots), content))
                    questions.append(Question(language, nameless_template.format(**slots), content, named=False))
    documents: dict[str, list[str]] = {}
    for language, items in chunks.items():
        rng.shuffle(items)
        for i in range(0, len(items), chunks_per_document):
            documents[f"{language}-{i // chunks_per_document:03d}.txt"] = items[i : i + chunks_per_document]
    return Corpus(documents, questions)


async def index_corpus(kb: Any, name: str, corpus: Corpus) -> str:
    """Create a dataset holding the corpus, one chunk per paragraph; returns its id once indexed."""
    dataset = await kb.create_dataset(name=name, indexing_technique="high_quality")
    rule = {
        "mode": "custom",
        "rules": {
            "pre_processing_rules": [{"id": "remove_extra_spaces", "enabled": True}],
            "segmentation": {"separator": "\n\n", "max_tokens": 500},
        },
    }
    for document, chunks in corpus.documents.items():
        await kb.add_document(
            dataset.id,
            name=document,
            data="\n\n".join(chunks).encode(),
            filename=document,
            mime_type="text/plain",
            data_source_info={},
            process_rule=rule,
        )
    await kb.jobs.wait_idle()
    return str(dataset.id)


async def recall_at(
    kb: Any, dataset_id: str, questions: list[Question], method: str, k: int = 5
) -> tuple[float, float]:
    """(recall@1, recall@k): how often the right chunk comes first, and among the first k."""
    from kawa.knowledge import RetrievalConfig

    config = RetrievalConfig(search_method=method, top_k=k)  # type: ignore[arg-type]
    first = found = 0
    for question in questions:
        hits = await kb.retrieve([dataset_id], question.text, config, count_hits=False)
        found += any(hit.content == question.answer for hit in hits)
        first += bool(hits) and hits[0].content == question.answer
    return first / len(questions), found / len(questions)
