import subprocess
import sys
import time


def test_importing_the_cli_loads_no_engine_library():
    code = "import sys, fieldmill.cli; bad = [m for m in ('torch', 'vllm', 'transformers', 'ray', 'pyarrow') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_answers_fast():
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "fieldmill.cli", "--help"], capture_output=True, text=True, check=True)
    assert "run" in out.stdout and "schema" in out.stdout
    assert time.perf_counter() - started < 10


def test_schema_command_prints_hardened_schema_and_budget():
    out = subprocess.run([sys.executable, "-m", "fieldmill.cli", "schema", "invoice"], capture_output=True, text=True, check=True)
    assert '"maxLength"' in out.stdout and "max_tokens" in out.stdout


def test_bad_schema_is_a_one_line_error_with_its_exit_code():
    out = subprocess.run([sys.executable, "-m", "fieldmill.cli", "run", "x", "--schema", "nope", "--output", "y"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "unknown schema" in out.stderr


def test_the_outlines_backend_is_refused_for_a_schema_it_cannot_compile_in_time():
    out = subprocess.run([sys.executable, "-m", "fieldmill.cli", "run", "x", "--schema", "invoice", "--output", "y", "--backend", "outlines"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--backend outlines cannot serve schema invoice" in out.stderr and out.stderr.count("\n") == 1
