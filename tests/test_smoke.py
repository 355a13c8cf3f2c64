from segment_web import Analytics
from tests.support.recording_server import RecordingServer


def test_a_track_call_arrives_over_http(server: RecordingServer) -> None:
    client = Analytics("key", host=server.url, flush_at=1)
    client.track(user_id=7, event="Signed Up", properties={"plan": "pro"})
    client.flush(timeout=10)
    (message,) = server.wait_for(1)
    assert message["userId"] == "7"
    assert message["event"] == "Signed Up"
    assert message["context"]["library"]["name"] == "segment-web"
    client.shutdown()
