//! The callback's rules on hand-made runs: statuses to test cases, its options, names and
//! classnames, escaping. (tests/junit_oracle.rs compares whole files with ansible-core's.)

use super::*;
use crate::output::report::{BatchRecord, HostRecord, PlayRecord, StatusWord, TaskRecord};

fn host(name: &str, status: StatusWord, result: Json) -> HostRecord {
    HostRecord {
        host: name.into(),
        status,
        ignored: false,
        delegated_to: None,
        start: 0.0,
        end: 0.5,
        result,
        items: Vec::new(),
        verbose_always: false,
        error: None,
    }
}

fn task(id: u64, name: &str, results: Vec<HostRecord>) -> TaskRecord {
    TaskRecord {
        name: name.into(),
        action: "command".into(),
        path: Some("/srv/site/site.yml:12".into()),
        args: Some("_raw_params=true".into()),
        id,
        results,
        ..TaskRecord::default()
    }
}

fn play(tasks: Vec<TaskRecord>) -> Vec<PlayRecord> {
    vec![PlayRecord {
        name: "web".into(),
        batches: vec![BatchRecord::default()],
        tasks,
        ..PlayRecord::default()
    }]
}

fn opts(vars: &[(&str, &str)]) -> Options {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Options::from_lookup(Some(PathBuf::from("/tmp/out")), move |k| {
        vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    })
}

fn counts(xml: &str) -> (usize, usize, usize, usize) {
    (
        xml.matches("<testcase ").count(),
        xml.matches("<failure ").count(),
        xml.matches("<error ").count(),
        xml.matches("<skipped").count(),
    )
}

fn sample() -> Vec<PlayRecord> {
    play(vec![
        task(
            1,
            "run",
            vec![
                host("a", StatusWord::Changed, json!({"changed": true, "rc": 0})),
                host("b", StatusWord::Failed, json!({"rc": 2, "stderr": "no"})),
                host("c", StatusWord::Unreachable, json!({"msg": "gone"})),
                {
                    let mut h = host("d", StatusWord::Failed, json!({"msg": "ignored <x>"}));
                    h.ignored = true;
                    h
                },
            ],
        ),
        task(
            2,
            "maybe",
            vec![host(
                "a",
                StatusWord::Skipped,
                json!({"skip_reason": "Conditional result was False"}),
            )],
        ),
    ])
}

use serde_json::json;

#[test]
fn statuses_become_test_cases_as_the_callback_counts_them() {
    let xml = render("site", &sample(), &opts(&[]));
    // Unreachable has no test case (the callback has no handler for it); an ignored failure
    // passes.
    assert_eq!(counts(&xml), (4, 1, 0, 1), "{xml}");
    assert!(xml.contains(
        "<testcase classname=\"/srv/site/site.yml:12\" name=\"[a] web: run _raw_params=true\" time=\"0.5\">"
    ));
    // No msg: the failure's message is the return code.
    assert!(xml.contains("<failure message=\"rc=2\" type=\"failure\">{\n&quot;rc&quot;: 2,\n&quot;stderr&quot;: &quot;no&quot;\n}</failure>"), "{xml}");
    assert!(xml.contains("<skipped>Conditional result was False</skipped>"));
    assert!(xml.contains(
        "<testsuite disabled=\"0\" errors=\"0\" failures=\"1\" name=\"site\" skipped=\"1\" tests=\"4\" time=\"2\">"
    ));
    assert!(xml.starts_with("<?xml version=\"1.0\" ?>\n<testsuites disabled=\"0\" errors=\"0\" failures=\"1\" tests=\"4\" time=\"2\">\n"));
}

#[test]
fn the_options_change_what_fails_and_what_is_named() {
    let xml = render(
        "site",
        &sample(),
        &opts(&[
            ("JUNIT_FAIL_ON_CHANGE", "True"),
            ("JUNIT_FAIL_ON_IGNORE", "true"),
            ("JUNIT_HIDE_TASK_ARGUMENTS", "TRUE"),
            ("JUNIT_TASK_CLASS", "true"),
        ]),
    );
    assert_eq!(counts(&xml), (4, 3, 0, 1), "{xml}");
    assert!(xml.contains("<testcase classname=\"/srv/site/site\" name=\"[a] web: run\""));
    assert!(xml.contains("message=\"ignored &lt;x&gt;\""));
    // Only the prefixed tasks are test cases, and every failure.
    let xml = render(
        "site",
        &sample(),
        &opts(&[("JUNIT_TEST_CASE_PREFIX", "may")]),
    );
    assert_eq!(counts(&xml), (2, 1, 0, 1), "{xml}");
}

#[test]
fn expected_failures_pass_and_toggled_results_swap() {
    let plays = play(vec![
        task(
            1,
            "EXPECTED FAILURE here",
            vec![host("a", StatusWord::Failed, json!({"msg": "x"}))],
        ),
        task(
            2,
            "TOGGLE RESULT",
            vec![host("a", StatusWord::Ok, json!({"changed": false}))],
        ),
    ]);
    let xml = render("site", &plays, &opts(&[]));
    assert_eq!(counts(&xml), (2, 1, 0, 0), "{xml}");
    assert!(xml.contains("name=\"[a] web: TOGGLE RESULT _raw_params=true\" time=\"0.5\">\n\t\t\t<failure message=\"rc=0\""));
}

#[test]
fn setup_tasks_can_be_left_out_and_errors_are_errors() {
    let mut setup = task(
        1,
        "facts",
        vec![host("a", StatusWord::Ok, json!({"changed": false}))],
    );
    setup.action = "setup".into();
    let mut boom = host(
        "a",
        StatusWord::Failed,
        json!({"msg": "boom", "exception": "(traceback unavailable)"}),
    );
    boom.error = Some("Task failed: Action failed: boom".into());
    let plays = play(vec![setup, task(2, "fail", vec![boom])]);
    let xml = render(
        "site",
        &plays,
        &opts(&[("JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT", "False")]),
    );
    assert_eq!(counts(&xml), (1, 0, 1, 0), "{xml}");
    assert!(xml.contains(
        "<error message=\"Task failed: Action failed: boom\" type=\"error\">(traceback missing)\n\nThe above action exception"
    ));
}

#[test]
fn classnames_relative_and_out_of_tree() {
    let o = opts(&[
        ("JUNIT_TASK_RELATIVE_PATH", "/srv/other"),
        ("JUNIT_REPLACE_OUT_OF_TREE_PATH", "ext/"),
    ]);
    assert_eq!(classname("/srv/site/site.yml:12", &o), "ext/site.yml:12");
    let o = opts(&[("JUNIT_TASK_RELATIVE_PATH", "/srv")]);
    assert_eq!(classname("/srv/site/site.yml:12", &o), "site/site.yml:12");
}

#[test]
fn files_are_named_as_the_callback_names_them() {
    let o = opts(&[]);
    assert_eq!(
        o.file_for("site", 1_700_000_000.25),
        PathBuf::from("/tmp/out/site-1700000000.25.xml")
    );
    let f = Options::from_lookup(Some(PathBuf::from("ci/junit.xml")), |_| None);
    assert_eq!(f.file_for("site", 1.0), PathBuf::from("ci/junit.xml"));
    let env = Options::from_lookup(None, |k| {
        (k == "JUNIT_OUTPUT_DIR").then(|| "/var/junit".to_string())
    });
    assert_eq!(env.dest, PathBuf::from("/var/junit"));
    assert!(is_junit_callback("community.general.junit"));
    assert!(!is_junit_callback("profile_tasks"));
}

#[test]
fn times_are_exact_decimals_and_text_stays_xml() {
    assert_eq!(
        decimal(0.1),
        "0.1000000000000000055511151231257827021181583404541015625"
    );
    assert_eq!(decimal(2.0), "2");
    assert_eq!(esc("a\u{1}b&\"<>"), "a\u{fffd}b&amp;&quot;&lt;&gt;");
}
