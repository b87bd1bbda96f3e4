"""The command line end to end on a real database, bad input included (nothing changes)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from expertloop.cli.main import app
from expertloop.config import Settings
from expertloop.domain.policies import Actor, Role
from expertloop.services import assignments as svc
from expertloop.services import uow
from expertloop.storage.db import make_engine, make_sessionmaker
from expertloop.storage.orm import Expert, Item

runner = CliRunner()


def count(url: str, model) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s, uow.read(s):
        n = s.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return n


def test_every_command_has_help():
    for args in (["--help"], ["init", "--help"], ["serve", "--help"], ["experts", "import", "--help"],
                 ["project", "create", "--help"], ["items", "import", "--help"], ["token", "create", "--help"],
                 ["export", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_init_is_idempotent(cli):
    first, second = cli("init"), cli("init")
    assert first.exit_code == 0 and second.exit_code == 0
    assert "revision 0" in second.output


def test_cli_flow_with_every_file_format(cli, tmp_path):
    experts = tmp_path / "experts.csv"
    experts.write_text("name,email,degree,domains,languages,hourly_rate_usd,country\n"
                       "Ana Lima,ana@example.org,phd,history:4;law:2,en;pt,120.00,BR\n"
                       "Bo Chen,bo@example.org,master,history:3,en,80.00,CN\n")
    r = cli("experts", "import", str(experts))
    assert r.exit_code == 0, r.output
    assert count(cli.url, Expert) == 2

    project = tmp_path / "project.yaml"
    project.write_text("name: History pairs\ntask_type: preference\nguidelines: |\n  # Pick the true one\n"
                       "requirements:\n  domains: {history: 3}\n  languages: [en]\noverlap: 1\n"
                       "budget_usd: '500.00'\n")
    r = cli("project", "create", str(project))
    assert r.exit_code == 0, r.output
    pid = int(r.output.strip())

    jsonl = tmp_path / "items.jsonl"
    responses = [{"text": "true", "model": "a"}, {"text": "myth", "model": "b"}]
    jsonl.write_text("\n".join(json.dumps({"external_id": f"q{i}", "prompt": f"Q{i}?", "responses": responses,
                                           "gold": 0}) for i in range(3)) + "\n")
    r = cli("items", "import", str(pid), str(jsonl))
    assert r.exit_code == 0, r.output
    assert "imported 3 items" in r.output
    # the same file again: idempotent by external_id
    r = cli("items", "import", str(pid), str(jsonl))
    assert "imported 0 items" in r.output and "3 already present" in r.output

    csv_file = tmp_path / "items.csv"
    csv_file.write_text('external_id,prompt,responses\nc1,Q c1?,"[{""text"": ""x""}, {""text"": ""y""}]"\n')
    assert cli("items", "import", str(pid), str(csv_file)).exit_code == 0
    parquet = tmp_path / "items.parquet"
    pq.write_table(pa.Table.from_pylist([{"external_id": "p1", "prompt": "Q p1?",
                                          "responses": [{"text": "u", "model": "m"}, {"text": "v", "model": "n"}]}]),
                   parquet)
    r = cli("items", "import", str(pid), str(parquet))
    assert r.exit_code == 0, r.output
    assert count(cli.url, Item) == 5

    r = cli("token", "create", "--role", "trainer", "--expert", "1")
    assert r.exit_code == 0 and r.output.strip().startswith("el_")
    assert cli("token", "create", "--role", "trainer").exit_code == 1

    # a trainer works through the items (as the API would do)
    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s:
        actor = Actor(Role.trainer, 1)
        while (lease := svc.lease_next(s, actor, pid)) is not None:
            svc.submit(s, actor, lease["assignment_id"], {"choice": 0, "strength": 3}, Settings())
    engine.dispose()

    out_jsonl, out_parquet = tmp_path / "pref.jsonl", tmp_path / "pref.parquet"
    assert cli("export", str(pid), "--format", "preference", "-o", str(out_jsonl)).exit_code == 0
    assert cli("export", str(pid), "--format", "kto", "-o", str(out_parquet)).exit_code == 0
    records = [json.loads(line) for line in out_jsonl.read_text().splitlines()]
    assert len(records) == 5 and all(r["metadata"]["project_id"] == pid for r in records)
    assert pq.read_table(out_parquet).num_rows == 10  # chosen + rejected per judgment
    r = cli("export", str(pid), "--format", "sft")
    assert r.exit_code == 1 and "cannot be exported as sft" in r.output


def test_bad_item_file_names_lines_and_changes_nothing(cli, tmp_path):
    cli("init")
    project = tmp_path / "p.json"
    project.write_text(json.dumps({"name": "Labels", "task_type": "label", "options": {"labels": ["a", "b"]}}))
    pid = cli("project", "create", str(project)).output.strip()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"external_id": "1", "text": "ok", "gold": "a"}\n'
                   '{"external_id": "2", "text": "bad gold", "gold": "z"}\n'
                   '\n'
                   '{"external_id": "1", "text": "dup"}\n'
                   '{"text": "x", "priority": "high"}\n')
    r = cli("items", "import", pid, str(bad))
    assert r.exit_code == 1
    assert "line 2: gold.label" in r.output
    assert "line 4: external_id" in r.output and "repeats line 1" in r.output
    assert "line 5: priority" in r.output
    assert count(cli.url, Item) == 0
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "ok"}\n{"text": \n')
    r = cli("items", "import", pid, str(broken))
    assert r.exit_code == 1 and "line 2: invalid JSON" in r.output
    assert count(cli.url, Item) == 0
    r = cli("items", "import", "999", str(broken.with_name("missing.jsonl")))
    assert r.exit_code == 1 and "no such file" in r.output


def test_bad_project_and_expert_files(cli, tmp_path):
    cli("init")
    p = tmp_path / "p.yaml"
    p.write_text("name: x\ntask_type: essay\noverlap: 0\n")
    r = cli("project", "create", str(p))
    assert r.exit_code == 1 and "task_type" in r.output and "overlap" in r.output
    p.write_text("name: [unclosed\n")
    r = cli("project", "create", str(p))
    assert r.exit_code == 1 and "invalid YAML" in r.output and "line" in r.output
    e = tmp_path / "e.jsonl"
    e.write_text('{"name": "A", "email": "a@example.org", "hourly_rate_usd": 50}\n'
                 '{"name": "B", "email": "A@example.org", "hourly_rate_usd": 50}\n'
                 '{"name": "C", "email": "c@example.org", "degree": "dr", "hourly_rate_usd": 50}\n')
    r = cli("experts", "import", str(e))
    assert r.exit_code == 1 and "line 3: degree" in r.output
    assert "line 2: email" in r.output and "appears twice (also line 1)" in r.output
    assert count(cli.url, Expert) == 0


def test_commands_refuse_an_uninitialised_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    r = runner.invoke(app, ["token", "create", "--role", "admin"], env={"EXPERTLOOP_DATABASE_URL": url})
    assert r.exit_code == 1 and "expertloop init" in r.output


def test_token_list_and_revoke(cli):
    assert cli("init").exit_code == 0
    created = cli("token", "create", "--role", "manager", "--label", "ops laptop")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    listing = cli("token", "list")
    assert listing.exit_code == 0 and "ops laptop" in listing.stdout and secret not in listing.stdout
    token_id = listing.stdout.split()[0]
    revoked = cli("token", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in cli("token", "list").stdout
    from expertloop.domain.errors import Unauthenticated
    from expertloop.services.tokens import authenticate

    engine = make_engine(cli.url)
    with make_sessionmaker(engine)() as s, pytest.raises(Unauthenticated):
        authenticate(s, secret)
    engine.dispose()
    missing = cli("token", "revoke", "999999")
    assert missing.exit_code == 1 and "not found" in missing.output and "Traceback" not in missing.output
    assert cli("token", "revoke", "99999999999").exit_code == 2  # beyond the id range: a usage error


def test_bad_files_are_one_clear_error_never_a_traceback(cli, tmp_path):
    assert cli("init").exit_code == 0
    project_file = tmp_path / "p.yaml"
    project_file.write_text("name: L\ntask_type: label\noptions:\n  labels: [a, b]\n")
    assert cli("project", "create", str(project_file)).exit_code == 0
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"text": "caf\u00e9"}\n{"text": "ok"}\n{"text": "na\u00efve"}\n'.encode("latin-1"))
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"text": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 10_000 + "]" * 10_000)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_bytes(b"name: \xff\xfe\n")
    nul = tmp_path / "nul.jsonl"
    nul.write_text('{"text": "a\\u0000b", "external_id": "' + "x" * 300 + '"}\n')
    for args, expected in ((["items", "import", "1", str(latin1)], "line 1"),
                           (["items", "import", "1", str(deep)], "nested too deeply"),
                           (["items", "import", "1", str(deep_json)], "nested too deeply"),
                           (["project", "create", str(bad_yaml)], "not UTF-8"),
                           (["items", "import", "1", str(nul)], "NUL"),
                           (["items", "import", "1", str(tmp_path)], "error:"),
                           (["items", "import", "99999999999", str(latin1)], "error:")):
        result = cli(*args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert expected in result.output, (args, result.output)
        assert "Traceback" not in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    assert "line 3" in cli("items", "import", "1", str(latin1)).output  # every bad line at once
    assert count(cli.url, Item) == 0


def test_worker_once_runs_the_queued_refit(cli):
    from expertloop.services import jobs
    from tests import factories as f

    engine = make_engine(cli.url)
    Session = make_sessionmaker(engine)
    with Session() as s:
        p = f.project(s, "label", overlap=2)
        f.items(s, p["id"], "label", 2)
        actor = Actor(role=Role.trainer, expert_id=f.expert(s)["id"])
        lease = svc.lease_next(s, actor, p["id"])
        svc.submit(s, actor, lease["assignment_id"], {"label": "yes"}, Settings())
        [queued] = jobs.list_jobs(s, f.ADMIN, project_id=p["id"])
        assert queued["state"] == "queued"
    result = cli("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "ran 1 jobs" in result.output
    with Session() as s:
        assert jobs.get_job(s, f.ADMIN, queued["id"])["state"] == "done"
    engine.dispose()


def test_audit_lists_what_the_operator_did(cli, tmp_path):
    spec = tmp_path / "project.json"
    spec.write_text(json.dumps({"name": "Audited", "task_type": "label", "guidelines": "g",
                                "options": {"labels": ["a", "b"]}}))
    assert cli("project", "create", str(spec)).exit_code == 0
    assert cli("token", "create", "--role", "manager", "--label", "ops").exit_code == 0
    r = cli("audit", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [x["action"] for x in rows] == ["token.issued", "project.created"]
    assert all(x["actor_role"] == "operator" for x in rows)
    r = cli("audit", "--action", "project.")
    assert r.exit_code == 0 and "project.created" in r.output and "token.issued" not in r.output
    assert cli("audit", "--limit", "0").exit_code != 0


def test_listings_print_json_arrays_and_say_when_they_are_empty(cli, tmp_path):
    spec = tmp_path / "project.json"
    spec.write_text(json.dumps({"name": "No terms", "task_type": "label", "guidelines": "g",
                                "options": {"labels": ["a", "b"]}}))
    assert cli("project", "create", str(spec)).exit_code == 0
    r = cli("consents", "1")
    assert r.exit_code == 0 and r.stdout == ""
    assert "no consents on record for project 1 (it has no terms" in r.stderr
    for args in (["consents", "1"], ["pauses", "1"], ["notifications"], ["exam", "list"], ["audit"],
                 ["token", "list"]):
        r = cli(*args, "--json")
        assert r.exit_code == 0, (args, r.output)
        assert isinstance(json.loads(r.stdout), list), args
    assert cli("token", "create", "--role", "admin").exit_code == 0
    tokens = json.loads(cli("token", "list", "--json").stdout)
    assert len(tokens) == 1 and tokens[0]["role"] == "admin" and "token" not in tokens[0]
