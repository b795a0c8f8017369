//! `verify --format json` is a contract with classroom autograders: its shape is
//! docs/verify-report.schema.json. The schema, the example the instructor guide shows,
//! and (as root) the real output of `verify --all` all have to agree.

mod common;

use std::collections::BTreeSet;
use std::fmt;

use common::{cli, privileged, serial, state_dir, text, workspace};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

fn schema() -> Value {
    let path = workspace().join("docs/verify-report.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Checks `report` (the raw text) against the schema, for duplicate keys (which the
/// schema cannot see: a JSON parser keeps one of them), and for what the schema cannot
/// say: the counts add up, and status, score and checks agree.
fn assert_valid(raw: &str, what: &str) {
    serde_json::from_str::<NoDuplicateKeys>(raw).unwrap_or_else(|e| panic!("{what}: {e}\n{raw}"));
    let report: Value = serde_json::from_str(raw).unwrap();
    let validator =
        jsonschema::validator_for(&schema()).expect("the schema is a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("  at {}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match docs/verify-report.schema.json:\n{}",
        errors.join("\n")
    );

    let exercises = report["exercises"].as_array().unwrap();
    assert_eq!(report["total"], exercises.len(), "{what}: total");
    let passing = exercises.iter().filter(|e| e["status"] == "pass").count();
    assert_eq!(report["passed"], passing, "{what}: passed");
    for e in exercises {
        let checks = e["checks"].as_array().unwrap();
        let ok = checks.iter().filter(|c| c["status"] == "pass").count();
        let score = e["score"].as_f64().unwrap();
        assert!(
            (score - ok as f64 / checks.len() as f64).abs() < 1e-9,
            "{what}: {}'s score {score} is not {ok} of {} checks",
            e["id"],
            checks.len()
        );
        assert_eq!(
            e["status"] == "pass",
            ok == checks.len(),
            "{what}: {}'s status disagrees with its checks",
            e["id"]
        );
        let (chapter, _) = lessons::find_exercise(e["id"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{what}: unknown exercise {}", e["id"]));
        assert_eq!(
            e["chapter"], chapter.number,
            "{what}: {}'s chapter",
            e["id"]
        );
        for c in checks {
            if c["status"] == "fail" {
                assert!(
                    c.get("saw").is_some(),
                    "{what}: a failing check says what it saw: {c:#}"
                );
            }
        }
    }
}

#[test]
fn the_schema_is_a_valid_json_schema() {
    let s = schema();
    assert!(jsonschema::meta::is_valid(&s), "not a valid JSON Schema");
    assert_eq!(
        s["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "name the draft, so validators agree on it"
    );
}

#[test]
fn the_instructor_guide_example_matches_the_schema() {
    let path = workspace().join("book/src/examples/verify-room.json");
    let raw = std::fs::read_to_string(&path).unwrap();
    assert_valid(&raw, "book/src/examples/verify-room.json");
    let guide = std::fs::read_to_string(workspace().join("book/src/instructor-guide.md")).unwrap();
    assert!(
        guide.contains("{{#include examples/verify-room.json}}"),
        "the instructor guide should show the example by including it"
    );
}

#[test]
fn the_schema_rejects_what_an_autograder_could_not_read() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let good: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("book/src/examples/verify-room.json")).unwrap(),
    )
    .unwrap();
    assert!(validator.is_valid(&good));
    let mut bad = good.clone();
    bad["exercises"][0]["status"] = "passed".into();
    assert!(
        !validator.is_valid(&bad),
        "an unknown status must be rejected"
    );
    let mut bad = good.clone();
    bad["exercises"][0]["checks"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(
        !validator.is_valid(&bad),
        "a check without its message must be rejected"
    );
    let mut bad = good.clone();
    bad["exercises"][0]["score"] = 1.5.into();
    assert!(
        !validator.is_valid(&bad),
        "a score above 1 must be rejected"
    );
    let mut bad = good;
    bad["exercises"][0]["surprise"] = true.into();
    assert!(
        !validator.is_valid(&bad),
        "a field the schema does not document must be rejected: add it to the schema first"
    );
    assert!(
        serde_json::from_str::<NoDuplicateKeys>(r#"{"a": 1, "b": {"c": 2, "c": 3}}"#).is_err(),
        "duplicate keys must be caught"
    );
}

#[test]
fn real_verify_all_output_matches_the_schema() {
    if !privileged("real_verify_all_output_matches_the_schema") {
        return;
    }
    let _turn = serial();
    let state = state_dir();
    for (args, code, what) in [
        (
            &["verify", "--all", "--solution", "--format", "json"][..],
            0,
            "verify --all --solution --format json",
        ),
        (
            &["verify", "--all", "--format", "json"][..],
            1,
            "verify --all --format json (untouched exercises)",
        ),
    ] {
        let out = cli(args, state.path());
        assert_eq!(out.status.code(), Some(code), "{what}: {}", text(&out));
        let raw = String::from_utf8(out.stdout).unwrap();
        assert_valid(&raw, what);
        let report: Value = serde_json::from_str(&raw).unwrap();
        let ids: BTreeSet<&str> = report["exercises"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        let known: BTreeSet<&str> = lessons::chapters()
            .iter()
            .flat_map(|c| c.exercises.iter().map(|e| e.id))
            .collect();
        assert_eq!(ids, known, "{what}: --all covers every exercise");
    }
}

/// Parses any JSON value and fails on an object with a repeated key.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
}
