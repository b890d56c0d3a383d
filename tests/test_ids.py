import uuid

from telemetron import ids


def test_ticket_ids_are_random_uuids_in_their_usual_text_form():
    made = {ids.ticket_id() for _ in range(2000)}
    assert len(made) == 2000
    for text in made:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


def test_request_ids_are_32_hex_characters():
    made = {ids.request_id() for _ in range(100)}
    assert len(made) == 100 and all(len(i) == 32 and int(i, 16) >= 0 for i in made)
