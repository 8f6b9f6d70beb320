//! The rules, the validation and the day arithmetic of lifecycle
//! configurations, against S3's documented answers.

use super::*;
use time::macros::datetime;

fn rule(id: &str, filter: FilterInput) -> LifecycleRuleInput {
    LifecycleRuleInput {
        id: Some(id.into()),
        status: "Enabled".into(),
        filter: Some(filter),
        expiration: Some(ExpirationInput {
            days: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn glacier(days: Option<i32>, date: Option<OffsetDateTime>) -> TransitionInput {
    TransitionInput {
        days,
        date,
        storage_class: Some("GLACIER".into()),
    }
}

fn noncurrent_move(class: &str, days: Option<i32>) -> NoncurrentTransitionInput {
    NoncurrentTransitionInput {
        noncurrent_days: days,
        newer_noncurrent_versions: None,
        storage_class: Some(class.into()),
    }
}

fn prefix(p: &str) -> FilterInput {
    FilterInput {
        prefix: Some(p.into()),
        ..Default::default()
    }
}

fn days(r: LifecycleRuleInput, days: i32) -> LifecycleRuleInput {
    LifecycleRuleInput {
        expiration: Some(ExpirationInput {
            days: Some(days),
            ..Default::default()
        }),
        ..r
    }
}

fn tag(k: &str, v: &str) -> (String, String) {
    (k.into(), v.into())
}

fn object(key: &str, tags: &[(&str, &str)], size: u64, at: OffsetDateTime) -> ObjectMeta {
    ObjectMeta {
        tags: Tags::new(tags.iter().map(|(k, v)| tag(k, v)).collect()).expect("tags"),
        ..ObjectMeta::for_test(key, size, "e", at)
    }
}

fn config(rules: Vec<LifecycleRuleInput>) -> LifecycleConfiguration {
    LifecycleConfiguration::new(rules, TransitionMinimumSize::default()).expect("valid")
}

#[test]
fn validation_follows_s3() {
    use LifecycleFault::*;
    let base = || rule("r", prefix("logs/"));
    let with = |f: &dyn Fn(&mut LifecycleRuleInput)| {
        let mut r = base();
        f(&mut r);
        vec![r]
    };
    let long_id = "x".repeat(256);
    type Case = (
        &'static str,
        Vec<LifecycleRuleInput>,
        Option<(LifecycleFault, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        ("a simple rule", vec![base()], None),
        ("no rules", vec![], Some((Malformed, "at least one Rule"))),
        (
            "1,001 rules",
            (0..1001)
                .map(|i| rule(&format!("r{i}"), prefix("")))
                .collect(),
            Some((Request, "allowed limit of 1000 rules")),
        ),
        (
            "1,000 rules",
            (0..1000)
                .map(|i| rule(&format!("r{i}"), prefix("")))
                .collect(),
            None,
        ),
        (
            "an ID of 256 characters",
            vec![rule(&long_id, prefix(""))],
            Some((Argument, "ID length should not exceed allowed limit of 255")),
        ),
        (
            "the same ID twice",
            vec![rule("a", prefix("x")), rule("a", prefix("y"))],
            Some((Argument, "Rule ID must be unique")),
        ),
        (
            "a Status that is neither",
            with(&|r| r.status = "enabled".into()),
            Some((Malformed, "Status")),
        ),
        (
            "neither Filter nor Prefix",
            with(&|r| r.filter = None),
            Some((Malformed, "Filter")),
        ),
        (
            "Filter and Prefix",
            with(&|r| r.prefix = Some("a".into())),
            Some((Request, "Base level prefix cannot be used in Lifecycle V2")),
        ),
        (
            "the old Prefix form alone",
            with(&|r| {
                r.filter = None;
                r.prefix = Some("logs/".into())
            }),
            None,
        ),
        (
            "rules mixing the two forms",
            vec![base(), {
                let mut r = rule("old", prefix(""));
                r.filter = None;
                r.prefix = Some("tmp/".into());
                r
            }],
            Some((Request, "Base level prefix cannot be used in Lifecycle V2")),
        ),
        (
            "the old form, then a Filter",
            vec![
                {
                    let mut r = rule("old", prefix(""));
                    r.filter = None;
                    r.prefix = Some("tmp/".into());
                    r
                },
                base(),
            ],
            Some((Request, "Filter element can only be used in Lifecycle V2.")),
        ),
        (
            "the old form: overlapping prefixes for one action",
            ["logs/", "logs/app/"]
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut r = rule(&format!("r{i}"), prefix(""));
                    r.filter = None;
                    r.prefix = Some((*p).into());
                    r
                })
                .collect(),
            Some((
                Request,
                "Found overlapping prefixes 'logs/' and 'logs/app/' for same action type 'Expiration'",
            )),
        ),
        (
            "the old form: overlapping prefixes for different actions",
            vec![
                {
                    let mut r = rule("a", prefix(""));
                    r.filter = None;
                    r.prefix = Some("logs/".into());
                    r
                },
                {
                    let mut r = rule("b", prefix(""));
                    r.filter = None;
                    r.prefix = Some("logs/app/".into());
                    r.expiration = None;
                    r.abort_incomplete_multipart_upload = Some(Some(1));
                    r
                },
            ],
            None,
        ),
        (
            "overlapping prefixes in filters are fine",
            vec![rule("a", prefix("logs/")), rule("b", prefix("logs/app/"))],
            None,
        ),
        (
            "a Filter with two elements",
            with(&|r| {
                r.filter = Some(FilterInput {
                    prefix: Some("a".into()),
                    tag: Some(tag("k", "v")),
                    ..Default::default()
                })
            }),
            Some((Malformed, "exactly one of Prefix, Tag")),
        ),
        (
            "an empty Filter",
            with(&|r| r.filter = Some(FilterInput::default())),
            None,
        ),
        (
            "an empty And",
            with(&|r| {
                r.filter = Some(FilterInput {
                    and: Some(AndInput::default()),
                    ..Default::default()
                })
            }),
            Some((Malformed, "And")),
        ),
        (
            "And with a duplicate tag key",
            with(&|r| {
                r.filter = Some(FilterInput {
                    and: Some(AndInput {
                        tags: vec![tag("k", "1"), tag("k", "2")],
                        ..Default::default()
                    }),
                    ..Default::default()
                })
            }),
            Some((Request, "Duplicate Tag Keys are not allowed.")),
        ),
        (
            "And with sizes the wrong way round",
            with(&|r| {
                r.filter = Some(FilterInput {
                    and: Some(AndInput {
                        object_size_greater_than: Some(100),
                        object_size_less_than: Some(100),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
            }),
            Some((
                Request,
                "'ObjectSizeLessThan' has to be a value greater than",
            )),
        ),
        (
            "a negative ObjectSizeGreaterThan",
            with(&|r| {
                r.filter = Some(FilterInput {
                    object_size_greater_than: Some(-1),
                    ..Default::default()
                })
            }),
            Some((Request, "'ObjectSizeGreaterThan' should be between 0 and")),
        ),
        (
            "ObjectSizeLessThan of 0",
            with(&|r| {
                r.filter = Some(FilterInput {
                    object_size_less_than: Some(0),
                    ..Default::default()
                })
            }),
            Some((Request, "'ObjectSizeLessThan' should be between 1 and")),
        ),
        (
            "a tag with an empty key",
            with(&|r| {
                r.filter = Some(FilterInput {
                    tag: Some(tag("", "v")),
                    ..Default::default()
                })
            }),
            Some((Request, "A Tag's Key must be a length between 1 and 128")),
        ),
        (
            "no action",
            with(&|r| r.expiration = None),
            Some((
                Request,
                "At least one action needs to be specified in a rule",
            )),
        ),
        (
            "Days 0",
            vec![days(base(), 0)],
            Some((
                Argument,
                "'Days' for Expiration action must be a positive integer",
            )),
        ),
        (
            "Days -1",
            vec![days(base(), -1)],
            Some((
                Argument,
                "'Days' for Expiration action must be a positive integer",
            )),
        ),
        (
            "Days and Date",
            with(&|r| {
                r.expiration = Some(ExpirationInput {
                    days: Some(1),
                    date: Some(datetime!(2030-01-01 0:00 UTC)),
                    ..Default::default()
                })
            }),
            Some((Malformed, "exactly one of Days, Date")),
        ),
        (
            "an empty Expiration",
            with(&|r| r.expiration = Some(ExpirationInput::default())),
            Some((Malformed, "exactly one of Days, Date")),
        ),
        (
            "a Date at midnight",
            with(&|r| {
                r.expiration = Some(ExpirationInput {
                    date: Some(datetime!(2030-01-01 0:00 UTC)),
                    ..Default::default()
                })
            }),
            None,
        ),
        (
            "a Date not at midnight",
            with(&|r| {
                r.expiration = Some(ExpirationInput {
                    date: Some(datetime!(2030-01-01 0:00:01 UTC)),
                    ..Default::default()
                })
            }),
            Some((Argument, "'Date' must be at midnight GMT")),
        ),
        (
            "a Date at midnight elsewhere",
            with(&|r| {
                r.expiration = Some(ExpirationInput {
                    date: Some(datetime!(2030-01-01 0:00 +1)),
                    ..Default::default()
                })
            }),
            Some((Argument, "'Date' must be at midnight GMT")),
        ),
        (
            "ExpiredObjectDeleteMarker (nothing to act on, valid)",
            with(&|r| {
                r.expiration = Some(ExpirationInput {
                    expired_object_delete_marker: Some(true),
                    ..Default::default()
                })
            }),
            None,
        ),
        (
            "ExpiredObjectDeleteMarker with a tag",
            with(&|r| {
                r.filter = Some(FilterInput {
                    tag: Some(tag("k", "v")),
                    ..Default::default()
                });
                r.expiration = Some(ExpirationInput {
                    expired_object_delete_marker: Some(true),
                    ..Default::default()
                })
            }),
            Some((
                Request,
                "ExpiredObjectDeleteMarker cannot be specified with Tags.",
            )),
        ),
        (
            "NoncurrentVersionExpiration (nothing to act on, valid)",
            with(&|r| {
                r.expiration = None;
                r.noncurrent_expiration = Some(NoncurrentInput {
                    noncurrent_days: Some(30),
                    newer_noncurrent_versions: Some(2),
                })
            }),
            None,
        ),
        (
            "NoncurrentDays 0",
            with(&|r| {
                r.noncurrent_expiration = Some(NoncurrentInput {
                    noncurrent_days: Some(0),
                    ..Default::default()
                })
            }),
            Some((Argument, "'NoncurrentDays' for NoncurrentVersionExpiration")),
        ),
        (
            "NewerNoncurrentVersions 100, S3's most (valid)",
            with(&|r| {
                r.noncurrent_expiration = Some(NoncurrentInput {
                    noncurrent_days: Some(1),
                    newer_noncurrent_versions: Some(100),
                })
            }),
            None,
        ),
        (
            "NewerNoncurrentVersions 101",
            with(&|r| {
                r.noncurrent_expiration = Some(NoncurrentInput {
                    noncurrent_days: Some(1),
                    newer_noncurrent_versions: Some(101),
                })
            }),
            Some((
                Argument,
                "'NewerNoncurrentVersions' must be less than or equal to 100",
            )),
        ),
        (
            "NoncurrentVersionExpiration without days",
            with(&|r| r.noncurrent_expiration = Some(NoncurrentInput::default())),
            Some((Malformed, "NoncurrentDays")),
        ),
        (
            "an abort rule",
            with(&|r| {
                r.expiration = None;
                r.abort_incomplete_multipart_upload = Some(Some(7))
            }),
            None,
        ),
        (
            "an abort without days",
            with(&|r| r.abort_incomplete_multipart_upload = Some(None)),
            Some((Malformed, "DaysAfterInitiation")),
        ),
        (
            "an abort after 0 days",
            with(&|r| r.abort_incomplete_multipart_upload = Some(Some(0))),
            Some((
                Argument,
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload",
            )),
        ),
        (
            "an abort with a tag filter",
            with(&|r| {
                r.filter = Some(FilterInput {
                    tag: Some(tag("k", "v")),
                    ..Default::default()
                });
                r.abort_incomplete_multipart_upload = Some(Some(1))
            }),
            Some((
                Request,
                "AbortIncompleteMultipartUpload cannot be specified with Tags.",
            )),
        ),
        (
            "an abort with a size filter",
            with(&|r| {
                r.filter = Some(FilterInput {
                    object_size_greater_than: Some(10),
                    ..Default::default()
                });
                r.abort_incomplete_multipart_upload = Some(Some(1))
            }),
            Some((
                Request,
                "AbortIncompleteMultipartUpload cannot be specified with Object Size.",
            )),
        ),
        (
            "a transition",
            with(&|r| r.transitions = vec![glacier(Some(30), None)]),
            Some((
                Unsupported,
                "Transition and NoncurrentVersionTransition actions are not implemented",
            )),
        ),
        (
            "a transition alone is an action, refused as not implemented",
            with(&|r| {
                r.expiration = None;
                r.noncurrent_transitions = vec![noncurrent_move("GLACIER", Some(1))]
            }),
            Some((Unsupported, "not implemented")),
        ),
        (
            "a transition in an otherwise invalid rule: the invalid part first",
            vec![{
                let mut r = days(base(), 0);
                r.transitions = vec![glacier(Some(30), None)];
                r
            }],
            Some((Argument, "'Days' for Expiration")),
        ),
        (
            "a transition on Days 0 is valid (then not implemented)",
            with(&|r| r.transitions = vec![glacier(Some(0), None)]),
            Some((Unsupported, "not implemented")),
        ),
        (
            "a transition on a Date at midnight is valid (then not implemented)",
            with(&|r| r.transitions = vec![glacier(None, Some(datetime!(2030-01-01 0:00 UTC)))]),
            Some((Unsupported, "not implemented")),
        ),
        (
            "a transition Date not at midnight",
            with(&|r| r.transitions = vec![glacier(None, Some(datetime!(2030-01-01 0:00:01 UTC)))]),
            Some((Argument, "'Date' must be at midnight GMT")),
        ),
        (
            "a transition with Days and Date",
            with(&|r| r.transitions = vec![glacier(Some(1), Some(datetime!(2030-01-01 0:00 UTC)))]),
            Some((Malformed, "exactly one of Days and Date")),
        ),
        (
            "a transition with neither Days nor Date",
            with(&|r| r.transitions = vec![glacier(None, None)]),
            Some((Malformed, "exactly one of Days and Date")),
        ),
        (
            "a transition on negative Days",
            with(&|r| r.transitions = vec![glacier(Some(-1), None)]),
            Some((Argument, "'Days' in Transition action must be nonnegative")),
        ),
        (
            "a transition without a StorageClass",
            with(&|r| {
                r.transitions = vec![TransitionInput {
                    days: Some(30),
                    ..Default::default()
                }]
            }),
            Some((Malformed, "StorageClass")),
        ),
        (
            "a transition to STANDARD (not a transition class)",
            with(&|r| {
                r.transitions = vec![TransitionInput {
                    days: Some(30),
                    storage_class: Some("STANDARD".into()),
                    ..Default::default()
                }]
            }),
            Some((Malformed, "StorageClass")),
        ),
        (
            "STANDARD_IA before 30 days",
            with(&|r| {
                r.transitions = vec![TransitionInput {
                    days: Some(29),
                    storage_class: Some("STANDARD_IA".into()),
                    ..Default::default()
                }]
            }),
            Some((
                Argument,
                "'Days' in Transition action must be greater than or equal to 30 for storageClass 'STANDARD_IA'",
            )),
        ),
        (
            "ONEZONE_IA at 30 days is valid (then not implemented)",
            with(&|r| {
                r.transitions = vec![TransitionInput {
                    days: Some(30),
                    storage_class: Some("ONEZONE_IA".into()),
                    ..Default::default()
                }]
            }),
            Some((Unsupported, "not implemented")),
        ),
        (
            "a noncurrent transition to ONEZONE_IA before 30 days",
            with(&|r| r.noncurrent_transitions = vec![noncurrent_move("ONEZONE_IA", Some(10))]),
            Some((
                Argument,
                "'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to 30 for storageClass 'ONEZONE_IA'",
            )),
        ),
        (
            "a noncurrent transition on negative NoncurrentDays",
            with(&|r| r.noncurrent_transitions = vec![noncurrent_move("GLACIER", Some(-1))]),
            Some((
                Argument,
                "'NoncurrentDays' in NoncurrentVersionTransition action must be nonnegative",
            )),
        ),
        (
            "a noncurrent transition without NoncurrentDays",
            with(&|r| r.noncurrent_transitions = vec![noncurrent_move("GLACIER", None)]),
            Some((Malformed, "needs NoncurrentDays")),
        ),
        (
            "a noncurrent transition with NewerNoncurrentVersions 0",
            with(&|r| {
                let mut t = noncurrent_move("GLACIER", Some(1));
                t.newer_noncurrent_versions = Some(0);
                r.noncurrent_transitions = vec![t]
            }),
            Some((
                Argument,
                "'NewerNoncurrentVersions' must be a positive integer",
            )),
        ),
        (
            "a noncurrent transition with NewerNoncurrentVersions 101",
            with(&|r| {
                let mut t = noncurrent_move("GLACIER", Some(1));
                t.newer_noncurrent_versions = Some(101);
                r.noncurrent_transitions = vec![t]
            }),
            Some((
                Argument,
                "'NewerNoncurrentVersions' must be less than or equal to 100",
            )),
        ),
        (
            "a noncurrent transition to an unknown class",
            with(&|r| r.noncurrent_transitions = vec![noncurrent_move("COLD", Some(1))]),
            Some((Malformed, "StorageClass")),
        ),
    ];
    for (what, rules, want) in cases {
        match (
            LifecycleConfiguration::new(rules, TransitionMinimumSize::default()),
            want,
        ) {
            (Ok(_), None) => {}
            (Err(e), Some((fault, msg))) => {
                assert_eq!(e.fault, fault, "{what}: {e}");
                assert!(e.message.contains(msg), "{what}: got `{e}`");
            }
            (got, want) => panic!("{what}: got {got:?}, want {want:?}"),
        }
    }
    assert!(TransitionMinimumSize::parse(Some("varies_by_storage_class")).is_ok());
    assert_eq!(
        TransitionMinimumSize::parse(Some("tiny"))
            .unwrap_err()
            .fault,
        LifecycleFault::Request
    );
}

#[test]
fn a_rule_without_an_id_gets_one() {
    let mut r = rule("", prefix(""));
    r.id = None;
    let c = config(vec![r, rule("named", prefix("a"))]);
    assert_eq!(c.rules()[0].id.len(), 48, "{:?}", c.rules()[0].id);
    assert_eq!(c.rules()[1].id, "named");
}

#[test]
fn days_count_from_the_write_rounded_up_to_midnight_utc() {
    // The user guide's example: written 2014-01-15 10:30 UTC, 3 days:
    // due 2014-01-19 00:00 UTC.
    assert_eq!(
        days_after(datetime!(2014-01-15 10:30 UTC), 3),
        Some(datetime!(2014-01-19 0:00 UTC))
    );
    // Written at midnight: that midnight plus the days exactly.
    assert_eq!(
        days_after(datetime!(2014-01-02 0:00 UTC), 1),
        Some(datetime!(2014-01-03 0:00 UTC))
    );
    // Five minutes past midnight, one day: the midnight after next.
    assert_eq!(
        days_after(datetime!(2014-01-02 0:05 UTC), 1),
        Some(datetime!(2014-01-04 0:00 UTC))
    );
    // A time in another offset counts in UTC.
    assert_eq!(
        days_after(datetime!(2014-01-02 23:30 -1), 1),
        Some(datetime!(2014-01-05 0:00 UTC))
    );
    // Beyond the calendar: never.
    assert_eq!(days_after(datetime!(2014-01-02 0:00 UTC), u32::MAX), None);
}

#[test]
fn which_objects_expire_when() {
    let written = datetime!(2026-03-10 15:00 UTC);
    let c = config(vec![
        days(rule("logs", prefix("logs/")), 2),
        LifecycleRuleInput {
            expiration: Some(ExpirationInput {
                date: Some(datetime!(2026-03-11 0:00 UTC)),
                ..Default::default()
            }),
            ..rule(
                "tmp-tagged",
                FilterInput {
                    tag: Some(tag("tmp", "yes")),
                    ..Default::default()
                },
            )
        },
        days(
            rule(
                "big-cache",
                FilterInput {
                    and: Some(AndInput {
                        prefix: Some("cache/".into()),
                        tags: vec![tag("kind", "cache")],
                        object_size_greater_than: Some(100),
                        object_size_less_than: Some(1000),
                    }),
                    ..Default::default()
                },
            ),
            1,
        ),
        days(
            rule(
                "small",
                FilterInput {
                    object_size_less_than: Some(10),
                    ..Default::default()
                },
            ),
            5,
        ),
        LifecycleRuleInput {
            status: "Disabled".into(),
            ..days(rule("off", prefix("keep/")), 1)
        },
    ]);
    // What the sweep and the x-amz-expiration header both read: when, and
    // which rule.
    let at = |key: &str, tags: &[(&str, &str)], size: u64| {
        c.expiration(&object(key, tags, size, written))
            .map(|e| (e.at, e.rule_id))
    };
    // (what, key, tags, size, expected expiry and rule)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        u64,
        Option<(OffsetDateTime, &'a str)>,
    );
    let cases: Vec<Case> = vec![
        (
            "prefix, 2 days",
            "logs/a",
            vec![],
            50,
            Some((datetime!(2026-03-13 0:00 UTC), "logs")),
        ),
        ("outside every rule", "data/a", vec![], 50, None),
        ("a prefix is not a substring", "x/logs/a", vec![], 50, None),
        (
            "tag and date",
            "data/t",
            vec![("tmp", "yes")],
            50,
            Some((datetime!(2026-03-11 0:00 UTC), "tmp-tagged")),
        ),
        (
            "tag with another value",
            "data/t",
            vec![("tmp", "no")],
            50,
            None,
        ),
        (
            "two rules: the earlier wins",
            "logs/t",
            vec![("tmp", "yes")],
            50,
            Some((datetime!(2026-03-11 0:00 UTC), "tmp-tagged")),
        ),
        (
            "And: all of it",
            "cache/a",
            vec![("kind", "cache")],
            500,
            Some((datetime!(2026-03-12 0:00 UTC), "big-cache")),
        ),
        (
            "And: too small",
            "cache/a",
            vec![("kind", "cache")],
            100,
            None,
        ),
        (
            "And: too large",
            "cache/a",
            vec![("kind", "cache")],
            1000,
            None,
        ),
        ("And: without the tag", "cache/a", vec![], 500, None),
        (
            "And: another prefix",
            "cachet/a",
            vec![("kind", "cache")],
            500,
            None,
        ),
        (
            "size less than",
            "data/s",
            vec![],
            9,
            Some((datetime!(2026-03-16 0:00 UTC), "small")),
        ),
        ("disabled rule", "keep/a", vec![], 50, None),
    ];
    for (what, key, tags, size, want) in cases {
        let want = want.map(|(at, id)| (at, id.to_owned()));
        assert_eq!(at(key, &tags, size), want, "{what}");
        let expiry = c.expiry_of(&object(key, &tags, size, written));
        assert_eq!(expiry, want.map(|(at, _)| at), "{what}: expiry_of agrees");
    }
    let log = object("logs/a", &[], 50, written);
    assert!(!c.is_expired(&log, datetime!(2026-03-12 23:59:59 UTC)));
    assert!(c.is_expired(&log, datetime!(2026-03-13 0:00 UTC)));
    assert_eq!(
        c.expiration_prefixes(),
        vec![String::new()],
        "rules without a prefix: the whole bucket"
    );
}

#[test]
fn uploads_are_aborted_after_their_days() {
    let abort = |id: &str, p: &str, d: i32, enabled: bool| LifecycleRuleInput {
        expiration: None,
        abort_incomplete_multipart_upload: Some(Some(d)),
        status: if enabled { "Enabled" } else { "Disabled" }.into(),
        ..rule(id, prefix(p))
    };
    let c = config(vec![
        abort("a", "up/", 3, true),
        abort("b", "up/fast/", 1, true),
        abort("c", "off/", 1, false),
        days(rule("expire", prefix("exp/")), 1),
    ]);
    let started = datetime!(2026-03-10 8:00 UTC);
    assert_eq!(
        c.abort_of("up/x", started),
        Some(datetime!(2026-03-14 0:00 UTC))
    );
    assert_eq!(
        c.abort_of("up/fast/x", started),
        Some(datetime!(2026-03-12 0:00 UTC))
    );
    assert_eq!(c.abort_of("off/x", started), None);
    // What CreateMultipartUpload tells the client: the earliest, and its rule.
    let named = |key: &str| c.abort(key, started).map(|a| (a.at, a.rule_id));
    assert_eq!(
        named("up/fast/x"),
        Some((datetime!(2026-03-12 0:00 UTC), "b".to_owned())),
        "the shorter of two matching rules"
    );
    assert_eq!(
        named("up/x"),
        Some((datetime!(2026-03-14 0:00 UTC), "a".to_owned()))
    );
    assert_eq!(named("off/x"), None, "a disabled rule aborts nothing");
    assert_eq!(
        c.abort_of("exp/x", started),
        None,
        "expiration is not abort"
    );
    assert_eq!(c.abort_prefixes(), vec!["up/".to_owned()]);
    assert_eq!(c.expiration_prefixes(), vec!["exp/".to_owned()]);
}

#[test]
fn one_rule_decision_serves_the_header_and_the_sweep() {
    // Written one second before midnight: a day later is rounded up to the
    // midnight after, which is also the Date rule's day.
    let written = datetime!(2026-03-10 23:59:59 UTC);
    let c = config(vec![
        days(rule("first", prefix("a/")), 1),
        days(rule("second", prefix("a/b/")), 1),
        LifecycleRuleInput {
            expiration: Some(ExpirationInput {
                date: Some(datetime!(2026-03-12 0:00 UTC)),
                ..Default::default()
            }),
            ..rule("dated", prefix("a/b/c/"))
        },
        days(rule("long", prefix("z/")), 10),
        days(
            rule(
                "short",
                FilterInput {
                    and: Some(AndInput {
                        prefix: Some("z/".into()),
                        tags: vec![tag("ttl", "short")],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ),
            2,
        ),
        LifecycleRuleInput {
            status: "Disabled".into(),
            ..days(rule("off", prefix("z/")), 1)
        },
    ]);
    let midnight = datetime!(2026-03-12 0:00 UTC);
    // (what, key, tags, expected expiry and rule)
    type Case<'a> = (
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Option<(OffsetDateTime, &'a str)>,
    );
    let cases: Vec<Case> = vec![
        (
            "three rules tie: the first in order is named",
            "a/b/c/x",
            vec![],
            Some((midnight, "first")),
        ),
        ("two rules tie", "a/b/x", vec![], Some((midnight, "first"))),
        (
            "a later rule that expires sooner wins",
            "z/x",
            vec![("ttl", "short")],
            Some((datetime!(2026-03-13 0:00 UTC), "short")),
        ),
        (
            "outside the And filter, the longer rule; never the disabled one",
            "z/x",
            vec![],
            Some((datetime!(2026-03-21 0:00 UTC), "long")),
        ),
        ("no rule", "b/x", vec![], None),
    ];
    for (what, key, tags, want) in cases {
        let meta = object(key, &tags, 10, written);
        let got = c.expiration(&meta);
        assert_eq!(
            got.as_ref().map(|e| (e.at, e.rule_id.as_str())),
            want,
            "{what}"
        );
        // Each rule alone, as the header's choice is made of them.
        let earliest = c.rules().iter().filter_map(|r| r.expiry_of(&meta)).min();
        assert_eq!(earliest, want.map(|(at, _)| at), "{what}: per rule");
        // A hand-set clock on either side of the expiry: the sweep deletes
        // exactly when the header said it would.
        if let Some((at, _)) = want {
            let second = time::Duration::seconds(1);
            assert!(!c.is_expired(&meta, at - second), "{what}: not before");
            assert!(c.is_expired(&meta, at), "{what}: at the midnight");
        } else {
            assert!(
                !c.is_expired(&meta, datetime!(2100-01-01 0:00 UTC)),
                "{what}"
            );
        }
    }
    let off = &c.rules()[5];
    assert!(!off.enabled);
    assert_eq!(off.expiry_of(&object("z/x", &[], 10, written)), None);
    assert_eq!(off.abort_of("z/x", written), None);
}

#[test]
fn stored_form_round_trips() {
    let c = config(vec![rule("r", prefix("a/"))]);
    let json = serde_json::to_string(&c).expect("json");
    let back: LifecycleConfiguration = serde_json::from_str(&json).expect("decodes");
    assert_eq!(back, c);
}

fn noncurrent(r: LifecycleRuleInput, days: i32, newer: Option<i32>) -> LifecycleRuleInput {
    LifecycleRuleInput {
        expiration: None,
        noncurrent_expiration: Some(NoncurrentInput {
            noncurrent_days: Some(days),
            newer_noncurrent_versions: newer,
        }),
        ..r
    }
}

fn expired_marker(r: LifecycleRuleInput, on: bool) -> LifecycleRuleInput {
    LifecycleRuleInput {
        expiration: Some(ExpirationInput {
            expired_object_delete_marker: Some(on),
            ..Default::default()
        }),
        ..r
    }
}

#[test]
fn noncurrent_versions_expire_after_their_days_keeping_the_newer_ones() {
    let became = datetime!(2026-03-15 10:30 UTC);
    // 3 days after 10:30 on the 15th, rounded up: 00:00 on the 19th.
    let due = datetime!(2026-03-19 00:00 UTC);
    let tagged = |v: &str| Tags::new(vec![tag("keep", v)]).expect("tags");
    let c = config(vec![
        noncurrent(rule("logs", prefix("logs/")), 3, None),
        noncurrent(rule("kept", prefix("kept/")), 3, Some(2)),
        noncurrent(
            rule(
                "tagged",
                FilterInput {
                    tag: Some(tag("keep", "no")),
                    ..Default::default()
                },
            ),
            3,
            None,
        ),
        LifecycleRuleInput {
            status: "Disabled".into(),
            ..noncurrent(rule("off", prefix("off/")), 1, None)
        },
        // Current versions only: no noncurrent expiration.
        days(rule("current", prefix("current/")), 1),
    ]);
    let none = Tags::default();
    type Case = (
        &'static str,
        &'static str,
        Tags,
        u32,
        OffsetDateTime,
        Option<u32>,
    );
    let cases: Vec<Case> = vec![
        (
            "due under its prefix",
            "logs/a",
            none.clone(),
            0,
            due,
            Some(0),
        ),
        (
            "a second early",
            "logs/a",
            none.clone(),
            0,
            due - Duration::seconds(1),
            None,
        ),
        ("outside every rule", "other/a", none.clone(), 5, due, None),
        ("kept: only one newer", "kept/a", none.clone(), 1, due, None),
        (
            "kept: two newer is enough",
            "kept/a",
            none.clone(),
            2,
            due,
            Some(2),
        ),
        ("by tag", "x", tagged("no"), 0, due, Some(0)),
        ("another tag value", "x", tagged("yes"), 0, due, None),
        ("a disabled rule", "off/a", none.clone(), 0, due, None),
        (
            "an expiration of current versions",
            "current/a",
            none.clone(),
            0,
            due,
            None,
        ),
    ];
    for (what, key, tags, newer, now, want) in cases {
        assert_eq!(
            c.noncurrent_expiry(key, &tags, 1, became, newer, now),
            want,
            "{what}"
        );
    }
}

#[test]
fn expired_delete_markers_go_under_their_flag_or_a_days_rule() {
    let created = datetime!(2026-03-15 10:30 UTC);
    let c = config(vec![
        expired_marker(rule("markers", prefix("m/")), true),
        expired_marker(rule("off", prefix("f/")), false),
        days(rule("days", prefix("d/")), 2),
        LifecycleRuleInput {
            expiration: Some(ExpirationInput {
                date: Some(datetime!(2026-01-01 00:00 UTC)),
                ..Default::default()
            }),
            ..rule("date", prefix("t/"))
        },
        noncurrent(rule("noncurrent", prefix("n/")), 1, None),
    ]);
    let later = datetime!(2026-03-18 00:00 UTC);
    type Case = (&'static str, &'static str, OffsetDateTime, bool);
    let cases: Vec<Case> = vec![
        ("ExpiredObjectDeleteMarker at once", "m/a", created, true),
        ("ExpiredObjectDeleteMarker false", "f/a", later, false),
        ("a Days rule once old enough", "d/a", later, true),
        (
            "a Days rule too early",
            "d/a",
            datetime!(2026-03-17 23:59 UTC),
            false,
        ),
        ("a Date rule does not", "t/a", later, false),
        ("a noncurrent rule does not", "n/a", later, false),
        ("outside every rule", "x/a", later, false),
    ];
    for (what, key, now, want) in cases {
        assert_eq!(c.removes_marker(key, created, now), want, "{what}");
    }
    assert_eq!(
        c.version_prefixes(),
        ["d/", "f/", "m/", "n/", "t/"],
        "every rule acting on versions is scanned"
    );
}
