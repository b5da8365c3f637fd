"""Fixtures of the agent tests: real `babel` processes on real sockets, a real local HTTP server."""

import pytest
from agent_support import Agent, HttpServer, serve_http, start_agent


@pytest.fixture
def agents():
    """Start agents with `agents(node_dir)`; every one still running is killed at teardown."""
    started: list[Agent] = []

    def start(node_dir):
        started.append(start_agent(node_dir))
        return started[-1]

    yield start
    for agent in started:
        agent.stop()


@pytest.fixture
def agent(agents, tmp_path) -> Agent:
    """An agent serving the node folder `tmp_path / "node"`."""
    return agents(tmp_path / "node")


@pytest.fixture
def http_server():
    state = HttpServer()
    server = serve_http(state)
    yield state
    server.shutdown()
    server.server_close()
