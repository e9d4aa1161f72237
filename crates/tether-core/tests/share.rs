//! Sharing one connection across tabs (issue 15), the decisions: one wire
//! subscription per topic for any number of tabs, publications routed to
//! the tabs holding the topic, and a leader handoff that loses and repeats
//! nothing: the new leader's client recovers from the earliest position
//! any tab saw, and each tab drops what it already delivered.

mod harness;

use harness::{config, is_type, Shell};
use tether_core::share::{Hub, HubAction, Member, TabId};
use tether_core::{Inbound, Position, Verdict};

const A: TabId = TabId(1);
const B: TabId = TabId(2);
const C: TabId = TabId(3);

fn pos(epoch: &str, offset: u64) -> Position {
    Position {
        epoch: epoch.into(),
        offset,
    }
}

fn subscribe(topic: &str, since: Option<Position>) -> Option<HubAction> {
    Some(HubAction::Subscribe {
        topic: topic.into(),
        since,
    })
}

#[test]
fn one_wire_subscription_per_topic_whatever_the_number_of_tabs() {
    let mut hub = Hub::new();
    let tabs: Vec<TabId> = (1..=5).map(TabId).collect();
    assert_eq!(hub.hold(tabs[0], "miners", None), subscribe("miners", None));
    for &t in &tabs[1..] {
        assert_eq!(hub.hold(t, "miners", None), None, "already on the wire");
    }
    assert_eq!(hub.hold(tabs[2], "alerts", None), subscribe("alerts", None));
    assert_eq!(hub.route("miners"), tabs.as_slice());
    assert_eq!(hub.route("alerts"), &[tabs[2]]);
    assert_eq!(hub.route("system"), &[] as &[TabId]);
    // Unsubscribe in one tab keeps the others subscribed.
    for &t in &tabs[..4] {
        assert_eq!(hub.release(t, "miners"), None);
    }
    assert_eq!(hub.route("miners"), &[tabs[4]]);
    assert_eq!(
        hub.release(tabs[4], "miners"),
        Some(HubAction::Unsubscribe {
            topic: "miners".into()
        })
    );
    // A tab that goes (closed, crashed) releases everything it held.
    hub.hold(tabs[0], "alerts", None);
    assert_eq!(hub.leave(tabs[2]), vec![]);
    assert_eq!(
        hub.leave(tabs[0]),
        vec![HubAction::Unsubscribe {
            topic: "alerts".into()
        }]
    );
    assert_eq!(hub.topics().count(), 0);
}

#[test]
fn a_member_delivers_each_publication_once_and_announces_what_it_saw() {
    let mut m = Member::new();
    assert!(!m.accept("miners", "e1", 1), "not held");
    m.hold("miners", None);
    assert!(m.accept("miners", "e1", 1));
    assert!(m.accept("miners", "e1", 2));
    assert!(!m.accept("miners", "e1", 2), "a duplicate");
    assert!(!m.accept("miners", "e1", 1), "an older one");
    assert!(
        m.accept("miners", "e2", 1),
        "another epoch (a restart): delivered"
    );
    assert_eq!(
        m.announce().collect::<Vec<_>>(),
        [("miners", Some(&pos("e2", 1)))]
    );
    // From a saved position: nothing at or before it.
    m.hold("alerts", Some(pos("e9", 5)));
    assert!(!m.accept("alerts", "e9", 5));
    assert!(m.accept("alerts", "e9", 6));
    m.release("miners");
    assert!(!m.accept("miners", "e2", 2));
}

/// The leader tab went (closed, crashed, frozen) while tab B lagged behind
/// A and C (it was frozen: it delivered up to 7 of 10). The new leader
/// (here A) builds its hub from the tabs' announcements, its client
/// subscribes from A's position and recovers from B's when B announces;
/// every tab ends with 1..=11 exactly once, in order.
#[test]
fn a_leader_handoff_loses_and_repeats_nothing_in_any_tab() {
    let mut members = [Member::new(), Member::new(), Member::new()];
    for (m, seen) in members.iter_mut().zip([10, 7, 10]) {
        m.hold("miners", None);
        for offset in 1..=seen {
            assert!(m.accept("miners", "e1", offset));
        }
    }
    let mut delivered: Vec<Vec<u64>> = vec![Vec::new(); 3];

    // The new leader's client and hub.
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    let mut hub = Hub::new();
    let perform = |s: &mut Shell, action: Option<HubAction>| match action {
        Some(HubAction::Subscribe { topic, since }) => {
            s.c.subscribe_with(s.t(), &topic, true, None, since);
            s.pump();
        }
        Some(HubAction::Recover { topic, since }) => {
            s.c.recover_from(s.t(), &topic, since);
            s.pump();
        }
        Some(HubAction::Unsubscribe { topic }) => {
            s.c.unsubscribe(s.t(), &topic);
            s.pump();
        }
        None => {}
    };
    for (tab, m) in [A, B, C].into_iter().zip(&members) {
        let (topic, seen) = m.announce().next().unwrap();
        let action = hub.hold(tab, topic, seen.cloned());
        perform(&mut s, action);
    }
    // The wire: subscribed from A's 10, then again from B's 7.
    let subs: Vec<String> = s
        .take_sent()
        .into_iter()
        .filter(|f| is_type(f, "subscribe"))
        .collect();
    assert_eq!(
        subs,
        [
            r#"{"type":"subscribe","id":1,"topic":"miners","recover":{"epoch":"e1","offset":10}}"#,
            r#"{"type":"subscribe","id":2,"topic":"miners","recover":{"epoch":"e1","offset":7}}"#,
        ]
    );
    // The server answers both; a live 11 comes after the replay.
    for (id, missed) in [(1, 0), (2, 3)] {
        s.frame(Inbound::Subscribed {
            id,
            topic: "miners",
            epoch: "e1",
            offset: 10,
            recovered: Some(true),
            missed,
        });
    }
    for offset in [8, 9, 10, 11] {
        let verdict = s.frame(Inbound::Publication {
            topic: "miners",
            epoch: "e1",
            offset,
        });
        assert_eq!(
            verdict,
            Verdict::Deliver,
            "the leader's client delivers {offset}"
        );
        for (i, tab) in [A, B, C].into_iter().enumerate() {
            assert!(hub.route("miners").contains(&tab));
            if members[i].accept("miners", "e1", offset) {
                delivered[i].push(offset);
            }
        }
    }
    assert_eq!(delivered, [vec![11], vec![8, 9, 10, 11], vec![11]]);
}

#[test]
fn recover_from_only_moves_a_position_back_in_its_epoch() {
    let mut s = Shell::new(config());
    s.connect();
    s.establish();
    s.c.subscribe(s.t(), "miners", true);
    s.pump();
    s.frame(Inbound::Subscribed {
        id: 1,
        topic: "miners",
        epoch: "e1",
        offset: 10,
        recovered: None,
        missed: 0,
    });
    s.take_sent();
    // Later, or another epoch, or an unknown topic: nothing.
    for (topic, since) in [
        ("miners", pos("e1", 12)),
        ("miners", pos("e0", 3)),
        ("alerts", pos("e1", 3)),
    ] {
        s.c.recover_from(s.t(), topic, since);
        s.pump();
    }
    assert_eq!(s.take_sent(), Vec::<String>::new());
    s.c.recover_from(s.t(), "miners", pos("e1", 4));
    s.pump();
    assert_eq!(
        s.take_sent(),
        [r#"{"type":"subscribe","id":2,"topic":"miners","recover":{"epoch":"e1","offset":4}}"#]
    );
}
