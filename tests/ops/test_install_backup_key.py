"""The installer gives the machine a backup key pair once: the public half in the environment file, the private
half shown once (a terminal) or in a root-only file to move off the machine, never in the transcript."""
from __future__ import annotations

import stat

from ivr.ops.backup_crypto import BackupPublicKey, generate_backup_keypair, private_key_notice
from ivr.ops.install import PRIVATE_KEY_FILE, PRIVATE_KEY_LEFT_NOTE, Layout, backup_key, parse_env


def _machine(tmp_path, env: str = "SECRET_KEY=abc\n") -> Layout:
    layout = Layout(root=tmp_path)
    path = layout.at(layout.env_file)
    path.parent.mkdir(parents=True)
    path.write_text(env)
    path.chmod(0o600)
    return layout


def _pair():
    public, private = generate_backup_keypair()
    return public, private, lambda: (public.text(), private.text(), private_key_notice(private))


def test_on_a_terminal_the_private_half_is_printed_once_and_never_kept(tmp_path, capsys):
    layout, transcript = _machine(tmp_path), tmp_path / "install.log"
    public, private, generate = _pair()

    backup_key(layout, transcript, terminal=True, generate=generate)

    env = parse_env(layout.at(layout.env_file).read_text())
    assert env["SECRET_KEY"] == "abc" and BackupPublicKey.parse(env["IVR_BACKUP_PUBLIC_KEY"]) == public
    assert stat.S_IMODE(layout.at(layout.env_file).stat().st_mode) == 0o600
    shown = capsys.readouterr().out
    assert private.text() in shown
    log = transcript.read_text()
    assert "IVR_BACKUP_PUBLIC_KEY" in log and private.text() not in log
    assert private.text() not in layout.at(layout.env_file).read_text()
    assert not layout.at(PRIVATE_KEY_FILE).exists()

    # A second run changes nothing and shows nothing.
    backup_key(layout, transcript, terminal=True, generate=lambda: (_ for _ in ()).throw(AssertionError("made")))
    assert parse_env(layout.at(layout.env_file).read_text())["IVR_BACKUP_PUBLIC_KEY"] == public.text()
    assert capsys.readouterr().out == ""


def test_without_a_terminal_the_private_half_goes_to_a_root_only_file(tmp_path, capsys):
    layout, transcript = _machine(tmp_path), tmp_path / "install.log"
    public, private, generate = _pair()

    backup_key(layout, transcript, terminal=False, generate=generate)

    secret_file = layout.at(PRIVATE_KEY_FILE)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o400
    assert secret_file.read_text() == private.text() + "\n"  # usable as `backup restore --key-file`
    out = capsys.readouterr().out
    assert PRIVATE_KEY_FILE in out and private.text() not in out
    assert private.text() not in transcript.read_text()
    # Noted where the doctor, as the service user who cannot see /root, reads it (the environment file).
    env_text = layout.at(layout.env_file).read_text()
    assert env_text.splitlines()[-1] == (f"{PRIVATE_KEY_LEFT_NOTE}{PRIVATE_KEY_FILE}: move it off, delete it, then "
                                         "delete this line (`flask --app app doctor` reports it until then)")
    assert private.text() not in env_text and parse_env(env_text)["SECRET_KEY"] == "abc"


def test_a_public_key_already_there_is_never_replaced(tmp_path, capsys):
    public, _, _ = _pair()
    layout = _machine(tmp_path, f"IVR_BACKUP_PUBLIC_KEY={public.text()}\n")
    backup_key(layout, tmp_path / "install.log", terminal=True,
               generate=lambda: (_ for _ in ()).throw(AssertionError("made")))
    assert layout.at(layout.env_file).read_text() == f"IVR_BACKUP_PUBLIC_KEY={public.text()}\n"
    assert capsys.readouterr().out == "" and not (tmp_path / "install.log").exists()
