"""UPnP eventing received through soco.events: initial state, one event per change, renewal, expiry."""

from __future__ import annotations

import logging
import queue
import threading
import time

import pytest
import requests
import soco

from contract.zone import TransportState
from fakesonos import Track
from fakesonos.covers import generated_cover
from fakesonos.model import Source
from harness.fakesonos import subscribe
from harness.net import free_port
from harness.waiting import wait_for

pytestmark = [pytest.mark.timeout(30), pytest.mark.usefixtures("soco_events")]

AVT_EVENT_PATH = "/MediaRenderer/AVTransport/Event"


def next_event(subscription, timeout_seconds: float = 5):
    return subscription.events.get(timeout=timeout_seconds)


def test_initial_event_then_one_event_per_change_with_increasing_seq(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("First", "Artist", "Album", cover=generated_cover("First", size_pixels=32)))
    sub = subscribe(soco.SoCo(speaker.ip).avTransport, requested_timeout=60)

    initial = next_event(sub)
    speaker.set_track(Track("Café <&> Ünïcode", "Sigur Rós & Co", "Ágætis"))
    changed = next_event(sub)
    speaker.set_state(TransportState.PAUSED_PLAYBACK)
    paused = next_event(sub)

    assert [e.seq for e in (initial, changed, paused)] == ["0", "1", "2"]
    assert {e.sid for e in (initial, changed, paused)} == {sub.sid}
    assert sub.sid.startswith(f"uuid:{speaker.uid}_sub")
    assert initial.transport_state == "PLAYING"
    assert initial.current_track_meta_data.title == "First"
    assert initial.current_track_meta_data.album_art_uri.startswith("/getaa?s=1&u=")  # relative in events
    assert initial.av_transport_uri == f"x-rincon-queue:{speaker.uid}#0"
    assert changed.current_track_meta_data.title == "Café <&> Ünïcode"  # DIDL double-escaped on the wire
    assert changed.current_track_meta_data.creator == "Sigur Rós & Co"
    assert changed.current_track_uri == speaker.view().track.uri
    assert paused.transport_state == "PAUSED_PLAYBACK"
    assert sub.events.empty()
    sub.unsubscribe()


def test_event_art_uri_made_absolute_serves_the_cover(fake_household):
    speaker = fake_household("Den").speaker("den")
    speaker.set_track(Track("Song", cover=generated_cover("Song", size_pixels=40)))
    device = soco.SoCo(speaker.ip)
    sub = subscribe(device.avTransport)

    art = next_event(sub).current_track_meta_data.album_art_uri

    with requests.get(device.music_library.build_album_art_full_uri(art), timeout=5) as response:
        assert response.status_code == 200
    sub.unsubscribe()


def test_empty_queue_and_line_in_events_have_empty_metadata_not_empty_didl(fake_household):
    speaker = fake_household("Den").speaker("den")
    sub = subscribe(soco.SoCo(speaker.ip).avTransport)

    initial = next_event(sub)
    speaker.set_track(Track("", source=Source.LINE_IN))
    line_in = next_event(sub)

    assert (initial.transport_state, initial.current_track_uri, initial.current_track_meta_data) == (
        "STOPPED",
        "",
        "",
    )
    assert line_in.current_track_uri == f"x-rincon-stream:{speaker.uid}"
    sub.unsubscribe()


def test_radio_event_carries_station_and_stream_content(fake_household):
    speaker = fake_household("Den").speaker("den")
    sub = subscribe(soco.SoCo(speaker.ip).avTransport)
    next_event(sub)

    speaker.set_track(Track("Title", "Artist", source=Source.RADIO, station="Jazz FM"))
    event = next_event(sub)

    assert event.current_track_meta_data.stream_content == "Artist - Title"
    assert event.av_transport_uri_meta_data.title == "Jazz FM"
    sub.unsubscribe()


def test_members_subscribers_see_their_coordinator_as_x_rincon(fake_household):
    household = fake_household("Living Room", "Kitchen")
    living, kitchen = household.speaker("living-room"), household.speaker("kitchen")
    sub = subscribe(soco.SoCo(kitchen.ip).avTransport)
    next_event(sub)

    household.group(living, [kitchen])
    joined = next_event(sub)
    living.set_track(Track("Shared"))
    playing = next_event(sub)

    assert joined.current_track_uri == f"x-rincon:{living.uid}"
    assert (playing.current_track_uri, playing.transport_state) == (f"x-rincon:{living.uid}", "PLAYING")
    assert int(playing.seq) > int(joined.seq)
    sub.unsubscribe()


def test_topology_events_keep_socos_group_cache_current(fake_household):
    household = fake_household("Living Room", "Kitchen")
    living, kitchen = household.speaker("living-room"), household.speaker("kitchen")
    device = soco.SoCo(kitchen.ip)
    assert device.is_coordinator is True
    sub = subscribe(device.zoneGroupTopology)
    initial = next_event(sub)

    household.group(living, [kitchen])
    grouped = next_event(sub)

    assert "ZoneGroupState" in initial.zone_group_state
    assert grouped.zone_group_name == "Living Room"
    # With a live topology subscription soco does not poll: the event alone updated its cache.
    assert device.group.coordinator is soco.SoCo(living.ip)
    assert device.is_coordinator is False
    sub.unsubscribe()


def test_auto_renew_keeps_a_short_subscription_alive(fake_household):
    speaker = fake_household("Den").speaker("den")
    sub = subscribe(soco.SoCo(speaker.ip).avTransport, requested_timeout=2, auto_renew=True)
    failures: list[Exception] = []
    sub.auto_renew_fail = failures.append
    next_event(sub)

    time.sleep(3.5)  # past the granted 2 s: only renewals (at 1.7 s and 3.4 s) keep it alive

    assert sub.is_subscribed
    assert failures == []
    assert [s.sid for s in speaker.subscriptions] == [sub.sid]
    speaker.set_track(Track("Still Here"))
    assert next_event(sub).current_track_meta_data.title == "Still Here"
    sub.unsubscribe()


def test_unsubscribe_forgets_the_sid_so_renewal_gets_412(fake_household):
    speaker = fake_household("Den").speaker("den")
    sub = subscribe(soco.SoCo(speaker.ip).avTransport, requested_timeout=60)
    sid = sub.sid

    sub.unsubscribe()

    assert speaker.subscriptions == ()
    url = speaker.base_url + AVT_EVENT_PATH
    with requests.request("SUBSCRIBE", url, headers={"SID": sid, "TIMEOUT": "Second-60"}, timeout=5) as renew:
        assert renew.status_code == 412
    with requests.request("UNSUBSCRIBE", url, headers={"SID": sid}, timeout=5) as again:
        assert again.status_code == 412


def test_reboot_drops_subscriptions_so_auto_renew_fails(fake_household):
    speaker = fake_household("Den").speaker("den")
    boot_seq = speaker.boot_seq
    sub = subscribe(soco.SoCo(speaker.ip).avTransport, requested_timeout=2, auto_renew=True)
    failed = threading.Event()
    sub.auto_renew_fail = lambda exc: failed.set()
    next_event(sub)

    speaker.reboot(down_seconds=0.5)

    assert speaker.subscriptions == ()
    assert failed.wait(timeout=8), "auto_renew_fail was not called"
    assert sub.is_subscribed is False
    wait_for(lambda: not speaker.is_rebooting, timeout_seconds=5, what="the speaker to come back")
    assert speaker.boot_seq == boot_seq + 1
    assert soco.SoCo(speaker.ip).get_current_transport_info()["current_transport_state"] == "STOPPED"


def test_raw_subscribe_renew_and_expiry_follow_the_upnp_rules(fake_household):
    speaker = fake_household("Den").speaker("den")
    url = speaker.base_url + AVT_EVENT_PATH
    callback = f"<http://127.0.0.1:{free_port()}/notify>"

    with requests.request(
        "SUBSCRIBE", url, headers={"CALLBACK": callback, "NT": "upnp:event"}, timeout=5
    ) as r:
        assert (r.status_code, r.headers["TIMEOUT"]) == (200, "Second-86400")  # never "infinite"
    headers = {"CALLBACK": callback, "NT": "upnp:event", "TIMEOUT": "Second-1"}
    with requests.request("SUBSCRIBE", url, headers=headers, timeout=5) as r:
        assert r.headers["TIMEOUT"] == "Second-1"
        short_sid = r.headers["SID"]
    with requests.request(
        "SUBSCRIBE", url, headers={"SID": short_sid, "TIMEOUT": "Second-1"}, timeout=5
    ) as r:
        assert (r.status_code, r.headers["SID"]) == (200, short_sid)
    with requests.request("SUBSCRIBE", url, headers={"SID": short_sid, "NT": "upnp:event"}, timeout=5) as r:
        assert r.status_code == 400
    with requests.request("SUBSCRIBE", url, headers={"NT": "upnp:event"}, timeout=5) as r:
        assert r.status_code == 412

    wait_for(
        lambda: len(speaker.subscriptions) == 1, timeout_seconds=5, what="the 1 s subscription to expire"
    )
    with requests.request("SUBSCRIBE", url, headers={"SID": short_sid}, timeout=5) as r:
        assert r.status_code == 412


def test_notify_that_cannot_be_delivered_is_dropped_and_others_still_arrive(
    fake_household, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="fakesonos.events")
    household = fake_household("Den")
    speaker = household.speaker("den")
    dead_callback = f"<http://127.0.0.1:{free_port()}>"
    with requests.request(
        "SUBSCRIBE",
        speaker.base_url + AVT_EVENT_PATH,
        headers={"CALLBACK": dead_callback, "NT": "upnp:event"},
        timeout=5,
    ) as r:
        assert r.status_code == 200
    sub = subscribe(soco.SoCo(speaker.ip).avTransport)
    next_event(sub)

    speaker.set_track(Track("Delivered"))

    assert next_event(sub).current_track_meta_data.title == "Delivered"
    wait_for(
        lambda: sum(dead_callback[1:-1] in r.getMessage() for r in caplog.records) >= 2,
        timeout_seconds=5,
        what="both NOTIFYs to the dead callback to have failed",
    )
    with pytest.raises(queue.Empty):
        sub.events.get(timeout=0.2)
    sub.unsubscribe()
