"""The REST API of a running stack, on either Airflow major, behind one small client.

Airflow 2 serves API v1; Airflow 3 serves API v2 and wants a JWT from `POST /auth/token` as
`Authorization: Bearer`. On Airflow 2 the client logs in once through the web form and sends the session
cookie (the `session` API backend of AIRFLOW__API__AUTH_BACKENDS), as the UI does: each basic-auth call
hashes the password, ~0.1 s of the webserver's CPU, so a client polling a run with basic auth would take
a third of a core from the stack it waits for. Basic auth itself, what users' scripts send, is tested by
its own calls (test_stack.py's refusal test, `can_log_in`). Tests say what they want (trigger a run, list
its task instances, read a log) and never build either URL themselves.
"""

from __future__ import annotations

import re
import time

import requests


def form_login(base_url: str, major: int, username: str, password: str,
               session: requests.Session | None = None) -> requests.Session:
    """Log in through the web form, as a browser does (CSRF token included): the FAB auth manager's form,
    at /login/ on Airflow 2 and /auth/login/ on Airflow 3. The session then holds the login's cookies."""
    url = f"{base_url}/login/" if major < 3 else f"{base_url}/auth/login/"
    session = session or requests.Session()
    page = session.get(url, timeout=30)
    page.raise_for_status()  # (a webserver restarting or without its database: a RequestException)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    if token is None:
        raise AssertionError(f"GET {url}: no csrf_token in the login page: {page.text[:500]}")
    session.post(url, data={"username": username, "password": password, "csrf_token": token.group(1)},
                 timeout=30).raise_for_status()
    return session


class AirflowApi:
    def __init__(self, base_url: str, major: int, user: str = "airflow", password: str = "airflow"):
        self.base_url, self.major = base_url, major
        self.username, self.password = user, password
        self.root = f"{base_url}/api/v1" if major < 3 else f"{base_url}/api/v2"
        self.session = requests.Session()
        self._token_at: float | None = None

    # --- plumbing -------------------------------------------------------------------------------
    def token(self, user: str | None = None, password: str | None = None) -> requests.Response:
        """Airflow 3: POST /auth/token (the FAB auth manager's login for API clients)."""
        return requests.post(f"{self.base_url}/auth/token", json={"username": user or self.username,
                                                                   "password": password or self.password},
                             timeout=30)

    def _authenticate(self) -> None:
        if self.major < 3:
            if "session" not in self.session.cookies:
                form_login(self.base_url, self.major, self.username, self.password, self.session)
            return
        # a token lasts a day ([api_auth] jwt_expiration_time); a stack restart keeps the secret
        if self._token_at is not None and time.monotonic() - self._token_at < 3600:
            return
        r = self.token()
        r.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self._token_at = time.monotonic()

    def request(self, method: str, path: str, **kw) -> requests.Response:
        """`path` under the API root of this major (/api/v1 or /api/v2), e.g. "/dags"."""
        return self._send(method, f"{self.root}{path}", **kw)

    def _send(self, method: str, url: str, **kw) -> requests.Response:
        self._authenticate()
        kw.setdefault("timeout", 30)
        r = self.session.request(method, url, **kw)
        stale = r.status_code in {401, 403} and (self.major < 3 or "JWT" in r.text)
        if stale:
            # signed with a secret the stack no longer has (down -v, a restore): log in again
            self._token_at = None
            self.session.cookies.clear()
            self._authenticate()
            r = self.session.request(method, url, **kw)
        return r

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def _ok(self, method: str, path: str, **kw) -> dict:
        r = self.request(method, path, **kw)
        if not r.ok:
            raise AssertionError(f"{method} {path}: HTTP {r.status_code} {r.text[:500]}")
        return r.json() if r.content else {}

    def health(self) -> requests.Response:
        """The webserver's (2.x) or the api-server's (3.x) health endpoint; no login needed."""
        path = "/health" if self.major < 3 else "/api/v2/monitor/health"
        return requests.get(f"{self.base_url}{path}", timeout=30)

    # --- DAGs and runs ----------------------------------------------------------------------------
    def dag_ids(self) -> list[str]:
        return [d["dag_id"] for d in self._ok("GET", "/dags", params={"limit": 100})["dags"]]

    def import_errors(self) -> list[dict]:
        return self._ok("GET", "/importErrors")["import_errors"]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._ok("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def create_run(self, dag_id: str, logical_date: str | None = None, conf: dict | None = None) -> str:
        """A new run (the DAG's paused state unchanged); its run id. Without logical_date: now."""
        body: dict = {"conf": conf or {}}
        if logical_date or self.major >= 3:  # v2 asks for the field, null meaning "now"
            body["logical_date"] = logical_date
        return self._ok("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str) -> list[dict]:
        return self._ok("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def clear_run(self, dag_id: str, run_id: str) -> None:
        """Run it again, as Clear in the UI does."""
        self._ok("POST", f"/dags/{dag_id}/dagRuns/{run_id}/clear", json={"dry_run": False})

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        self._ok("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                        params={"limit": 100})["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        if self.major < 3:
            r = self.request("GET", path, headers={"Accept": "text/plain"})
            if not r.ok:
                raise AssertionError(f"GET {path}: HTTP {r.status_code} {r.text[:500]}")
            return r.text
        # v2: structured log lines, {"content": [{"event": ..., "error_detail": [...]?, ...}, ...]}
        content = self._ok("GET", path, params={"full_content": True})["content"]
        return "\n".join(_log_line(line) for line in content)

    # --- users and connections ------------------------------------------------------------------
    def user(self, username: str) -> requests.Response:
        """The FAB user (2.x: API v1; 3.x: the FAB provider's own API)."""
        if self.major < 3:
            return self.get(f"/users/{username}")
        return self._send("GET", f"{self.base_url}/auth/fab/v1/users/{username}")

    def create_user(self, user: dict) -> None:
        """A FAB user, e.g. {"username", "password", "email", "first_name", "last_name",
        "roles": [{"name": "Viewer"}]} (2.x: API v1; 3.x: the FAB provider's own API)."""
        if self.major < 3:
            self._ok("POST", "/users", json=user)
            return
        r = self._send("POST", f"{self.base_url}/auth/fab/v1/users", json=user)
        if not r.ok:
            raise AssertionError(f"POST /auth/fab/v1/users: HTTP {r.status_code} {r.text[:500]}")

    def can_log_in(self, user: str, password: str) -> bool:
        """Does the API accept this login? (2.x: basic auth on API v1; 3.x: a token from /auth/token)"""
        if self.major < 3:
            return requests.get(f"{self.root}/dags", auth=(user, password), timeout=30).status_code == 200
        return self.token(user, password).ok

    def create_connection(self, connection: dict) -> None:
        self._ok("POST", "/connections", json=connection)

    def create_variable(self, key: str, value: str) -> None:
        self._ok("POST", "/variables", json={"key": key, "value": value})


def _log_line(line) -> str:
    """One line of an Airflow 3 task log as text: the event, then the exceptions it carries."""
    if not isinstance(line, dict):
        return str(line)
    errors = [f"{e.get('exc_type')}: {e.get('exc_value')}" for e in line.get("error_detail") or []]
    return "\n".join([line.get("event", ""), *errors])
