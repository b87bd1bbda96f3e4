"""Do expertloop's exports train in TRL as they come? (prints a table; not a test).

Seeds the demo programme into a throwaway SQLite database, has a trainer write ideal answers on
the SFT project and judge pairs on the preference project, exports both (`preference`, `sft`)
exactly as `expertloop export` does, loads each with `datasets`, and runs one optimisation step
of TRL's `DPOTrainer` and `SFTTrainer` on them with a tiny randomly initialised GPT-2 and a
word-level tokenizer built here (no weights or tokenizers can be downloaded). What is measured
is that TRL's own data utilities accept the records (`is_conversational`, the chat template,
tokenisation, collation) and a loss comes out, not what the model learns.

    python3 -m venv .venv-trl && .venv-trl/bin/pip install -e . -r bench/requirements-trl.txt
    .venv-trl/bin/python bench/trl_check.py
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|> {% endif %}")


def export_records(tmp: Path) -> dict[str, list[dict]]:
    """The demo's preference and SFT exports after a trainer judged four items of each."""
    from sqlalchemy import select

    from expertloop.config import Settings
    from expertloop.demo import seed_demo
    from expertloop.domain.policies import Actor, Role
    from expertloop.services import assignments, uow
    from expertloop.services.experts import import_experts
    from expertloop.services.exports import iter_records
    from expertloop.storage.db import make_engine, make_sessionmaker
    from expertloop.storage.migrate import upgrade
    from expertloop.storage.orm import Project

    engine = make_engine(f"sqlite:///{tmp / 'trl.sqlite'}")
    upgrade(engine)
    session = make_sessionmaker(engine)()
    seed_demo(session)
    admin = Actor(role=Role.admin)
    with uow.read(session):
        projects = {p.task_type: p.id for p in session.execute(select(Project).order_by(Project.id)).scalars()}
    [trainer] = import_experts(session, admin, [(1, {"name": "TRL check", "email": "trl-check@example.org",
                                                     "languages": ["en"]})])
    actor = Actor(role=Role.trainer, expert_id=trainer["id"])
    answers = {"sft": lambda n: {"completion": f"A careful, sourced answer number {n}."},
               "preference": lambda n: {"choice": n % 2, "strength": 2}}
    for task, answer in answers.items():
        for n in range(4):
            lease = assignments.lease_next(session, actor, projects[task])
            if lease is None:
                break
            assignments.submit(session, actor, lease["assignment_id"], answer(n), Settings())
    out = {fmt: list(iter_records(session, admin, projects[task], fmt))
           for fmt, task in (("preference", "preference"), ("sft", "sft"))}
    session.close()
    return out


def tiny_model_and_tokenizer(records: dict[str, list[dict]]):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = {"[UNK]", "[PAD]", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"}
    for rs in records.values():
        for r in rs:
            words.update(json.dumps(r, ensure_ascii=False).split())
    vocab = {w: i for i, w in enumerate(sorted(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                        eos_token="<|end|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    ids = {"bos_token_id": vocab["<|end|>"], "eos_token_id": vocab["<|end|>"], "pad_token_id": vocab["[PAD]"]}
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(vocab), n_positions=1024, n_embd=16, n_layer=1, n_head=2,
                                       **ids))
    return model, tokenizer


def main() -> None:
    import datasets
    import trl
    from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer
    from trl.data_utils import is_conversational

    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        records = export_records(tmp)
        model, tokenizer = tiny_model_and_tokenizer(records)
        for fmt, rs in records.items():
            if not rs:
                raise SystemExit(f"the {fmt} export is empty")
            path = tmp / f"{fmt}.jsonl"
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rs))
            ds = datasets.load_dataset("json", data_files=str(path), split="train")
            columns = ["prompt", "chosen", "rejected"] if fmt == "preference" else ["messages"]
            ds = ds.select_columns(columns)
            common = {"output_dir": str(tmp / fmt), "max_steps": 1, "per_device_train_batch_size": 2,
                      "report_to": [], "save_strategy": "no", "use_cpu": True, "logging_steps": 1}
            if fmt == "preference":
                trainer = DPOTrainer(model=model, ref_model=copy.deepcopy(model), args=DPOConfig(**common),
                                     train_dataset=ds, processing_class=tokenizer)
            else:
                trainer = SFTTrainer(model=model, args=SFTConfig(**common), train_dataset=ds,
                                     processing_class=tokenizer)
            result = trainer.train()
            rows.append((fmt, len(rs), ", ".join(columns), is_conversational(ds[0]),
                         type(trainer).__name__, f"{result.training_loss:.3f}"))
    print(f"trl {trl.__version__}, datasets {datasets.__version__}\n")
    print("| export | records | columns given to TRL | is_conversational | trainer | loss after 1 step |")
    print("|---|---:|---|---|---|---:|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
