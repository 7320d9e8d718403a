"""Tiny real models for tests: a tokenizer trained with `tokenizers`, a random-init model from a
config, both saved to disk and loaded back through the same code path users take."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "the cat sat on the mat",
    "a dog ran in the park",
    "what is two plus two",
    "four",
    "summarise the article in one sentence",
    "translate into german",
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "answer briefly",
    "yes no maybe",
] * 20

PROMPTS = [
    "the cat",
    "what is two plus two and then some more words to make it long",
    "hi",
    "the quick brown fox jumps over the lazy dog again and again",
    "a dog ran",
    "yes",
    "summarise the article in one sentence please",
    "translate into german: hello world",
]
"""Prompts of mixed length, so batches are left-padded."""

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def train_tokenizer(directory: Path, *, chat_template: str | None = CHAT_TEMPLATE) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|assistant|>", "<|system|>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    from tokenizers import decoders

    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(directory)


def build_causal(
    directory: Path,
    kind: str = "llama",
    *,
    seed: int = 0,
    chat_template: str | None = CHAT_TEMPLATE,
    sizes: dict[str, int | float] | None = None,
) -> Path:
    """A random-init causal LM; `sizes` overrides the config's tiny default dimensions."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    train_tokenizer(directory, chat_template=chat_template)
    vocab = len(AutoTokenizer.from_pretrained(directory))
    shapes = {
        "llama": dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
        ),
        "gpt2": dict(n_embd=32, n_layer=2, n_head=4, n_positions=256),
    }[kind] | (sizes or {})
    config = AutoConfig.for_model(
        kind, vocab_size=vocab, bos_token_id=1, eos_token_id=2, pad_token_id=0, **shapes
    )
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config).save_pretrained(directory)  # type: ignore[no-untyped-call]
    return directory


def build_seq2seq(directory: Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

    train_tokenizer(directory, chat_template=None)
    vocab = len(AutoTokenizer.from_pretrained(directory))
    config = AutoConfig.for_model(
        "t5",
        vocab_size=vocab,
        d_model=32,
        d_ff=64,
        d_kv=8,
        num_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=0,
    )
    torch.manual_seed(seed)
    AutoModelForSeq2SeqLM.from_config(config).save_pretrained(directory)  # type: ignore[no-untyped-call]
    return directory


def build_bert(directory: Path, *, seed: int = 0, layers: int = 3) -> Path:
    """A random-init BERT encoder with a WordPiece tokenizer (vocab.txt and tokenizer.json)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import AutoConfig, AutoModel, BertTokenizerFast  # type: ignore[attr-defined]

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(
        CORPUS, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials)
    )
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=128)
    fast.save_pretrained(directory)
    config = AutoConfig.for_model(
        "bert",
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    AutoModel.from_config(config).save_pretrained(directory)  # type: ignore[no-untyped-call]
    return directory


def build_roberta(directory: Path, *, positions: int = 66, pad: int = 0) -> Path:
    """A tiny random RoBERTa whose tokenizer sets no model_max_length (the 1e30 sentinel), as the
    case bertscore-roberta-maxlen builds it; positions start at pad + 1, so it takes
    positions - pad - 1 tokens."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    train_tokenizer(directory, chat_template=None)
    config = AutoConfig.for_model(
        "roberta", vocab_size=len(AutoTokenizer.from_pretrained(directory)), hidden_size=32,
        intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=positions, bos_token_id=1, eos_token_id=2, pad_token_id=pad,
    )  # fmt: skip
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(directory)  # type: ignore[no-untyped-call]
    return directory
