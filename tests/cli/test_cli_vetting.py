"""Exams, onboarding status, pauses and notifications from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from expertloop.cli.main import app

runner = CliRunner()


def test_exam_create_list_and_status(fresh_url, tmp_path):
    env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
    exam = tmp_path / "exam.yaml"
    exam.write_text("name: Law L3\ndomain: law\nlevel: 3\ntask_type: label\noptions: {labels: [yes, no]}\n"
                    "pass_mark: 0.8\nquestions:\n  - {text: 'Is a verbal contract binding?', gold: 'yes'}\n")
    r = runner.invoke(app, ["exam", "create", str(exam)], env=env)
    assert r.exit_code == 1 and "quote them" in r.output  # YAML turned yes/no into booleans
    exam.write_text(exam.read_text().replace("[yes, no]", "['yes', 'no']"))
    r = runner.invoke(app, ["exam", "create", str(exam)], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["exam", "list"], env=env)
    assert "law level 3" in r.output and "1 questions" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndomain: law\nlevel: 9\ntask_type: label\noptions: {labels: [a, b]}\nquestions: []\n")
    r = runner.invoke(app, ["exam", "create", str(bad)], env=env)
    assert r.exit_code == 1 and "level" in r.output and "questions" in r.output

    experts = tmp_path / "e.jsonl"
    experts.write_text(json.dumps({"name": "A", "email": "a@example.org", "status": "applicant",
                                              "hourly_rate_usd": "90.00"}) + "\n")
    assert runner.invoke(app, ["experts", "import", str(experts)], env=env).exit_code == 0
    r = runner.invoke(app, ["experts", "status", "1", "active"], env=env)
    assert r.exit_code == 1 and "qualification exam" in r.output
    r = runner.invoke(app, ["experts", "status", "1", "offboarded"], env=env)
    assert r.exit_code == 0 and "offboarded" in r.output
    project = tmp_path / "p.yaml"
    project.write_text("name: P\ntask_type: label\noptions: {labels: [a, b]}\n"
                       "overlap: {min: 1, max: 3, target_confidence: 0.9}\n")
    assert runner.invoke(app, ["project", "create", str(project)], env=env).exit_code == 0
    r = runner.invoke(app, ["pauses", "1"], env=env)
    assert r.exit_code == 0 and r.stdout == ""  # an empty listing says so on stderr only
    assert "no trainer has been paused" in r.stderr
    assert runner.invoke(app, ["notifications"], env=env).exit_code == 0
    r = runner.invoke(app, ["pauses", "1", "--lift", "1"], env=env)
    assert r.exit_code == 1 and "not paused" in r.output


def test_consent_register_withdrawal_and_new_terms(fresh_url, tmp_path):
    from expertloop.domain.policies import Actor, Role
    from expertloop.services import consent
    from expertloop.storage.db import make_engine, make_sessionmaker

    env = {"EXPERTLOOP_DATABASE_URL": fresh_url}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    experts = tmp_path / "e.jsonl"
    experts.write_text("".join(json.dumps({"name": n, "email": f"{n}@example.org", "hourly_rate_usd": 60}) + "\n"
                               for n in ("Ada", "Bo")))
    assert runner.invoke(app, ["experts", "import", str(experts)], env=env).exit_code == 0
    project = tmp_path / "p.yaml"
    project.write_text("name: P\ntask_type: label\noptions: {labels: ['a', 'b']}\n"
                       "terms: |\n  # Terms\n  Your labels train models.\n")
    assert runner.invoke(app, ["project", "create", str(project)], env=env).exit_code == 0
    engine = make_engine(fresh_url)
    try:
        with make_sessionmaker(engine)() as session:
            consent.agree(session, Actor(role=Role.trainer, expert_id=1), 1, 1)
    finally:
        engine.dispose()
    r = runner.invoke(app, ["consents", "1"], env=env)
    assert r.exit_code == 0 and "Ada" in r.output and "terms v1" in r.output and "in force" in r.output
    r = runner.invoke(app, ["consents", "1", "--withdraw", "2"], env=env)
    assert r.exit_code == 1 and "no consent" in r.output
    r = runner.invoke(app, ["consents", "1", "--withdraw", "1", "--reason", "letter of 2 May"], env=env)
    assert r.exit_code == 0 and "0 contributions leave" in r.output and "withdrawn" in r.output
    assert "letter of 2 May" in r.output
    terms = tmp_path / "terms.md"
    terms.write_text("# Terms v2\n")
    r = runner.invoke(app, ["consents", "1", "--terms", str(terms)], env=env)
    assert r.exit_code == 0 and "terms version 2 published" in r.output
