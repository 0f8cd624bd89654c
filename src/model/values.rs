//! Small value types of the stack file, shared by the wire format and the model.
//!
//! Each parses from the text YAML gives it (scalars reach serde as strings) and says what
//! it expected when it cannot.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Implements `Deserialize` (from a string or a number) and `Serialize` (as its text) for
/// a type that implements `FromStr<Err = String>` and `Display`.
macro_rules! text_value {
    ($ty:ty, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct TextVisitor;
                impl Visitor<'_> for TextVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        self.visit_str(&v.to_string())
                    }
                }
                deserializer.deserialize_any(TextVisitor)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    };
}

/// A duration written as a number and a unit: `30s`, `10m`, `24h`, `1h30m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub StdDuration);

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.chars().all(|c| c.is_ascii_digit()) && !trimmed.is_empty() {
            return Err(format!(
                "`{trimmed}` has no unit; write `{trimmed}s`, `{trimmed}m` or `{trimmed}h`"
            ));
        }
        humantime::parse_duration(trimmed)
            .map(Duration)
            .map_err(|_| format!("expected a duration like `30s`, `10m` or `24h`, found `{s}`"))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

text_value!(Duration, "a duration like `30s`, `10m` or `24h`");

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: numbers with units (`ms`, `s`, `m`, `h`, `d`), e.g. `30s`, `1.5m`, `24h`, `1h30m`.",
            "type": "string",
            "pattern": "^\\s*([0-9]+(\\.[0-9]+)?\\s*[a-zA-Z]+\\s*)+$"
        })
    }
}

/// How many instances: a count (`1`) or a percentage of the group's count (`25%`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quantity {
    /// An absolute number of instances.
    Count(u32),
    /// A percentage of the group's count.
    Percent(u32),
}

impl Quantity {
    /// The number of instances out of `total`, rounding a percentage up (as Kubernetes
    /// does for `maxSurge`) or down (as for `maxUnavailable`).
    pub fn resolve(self, total: u32, round_up: bool) -> u32 {
        match self {
            Quantity::Count(n) => n,
            Quantity::Percent(p) => {
                let scaled = u64::from(total) * u64::from(p);
                let n = if round_up {
                    scaled.div_ceil(100)
                } else {
                    scaled / 100
                };
                u32::try_from(n).unwrap_or(u32::MAX)
            }
        }
    }
}

impl FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let expected =
            || format!("expected a count like `1` or a percentage like `25%`, found `{s}`");
        let trimmed = s.trim();
        if let Some(percent) = trimmed.strip_suffix('%') {
            let p: u32 = percent.trim().parse().map_err(|_| expected())?;
            Ok(Quantity::Percent(p))
        } else {
            trimmed.parse().map(Quantity::Count).map_err(|_| expected())
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Count(n) => write!(f, "{n}"),
            Quantity::Percent(p) => write!(f, "{p}%"),
        }
    }
}

text_value!(Quantity, "a count like `1` or a percentage like `25%`");

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A number of instances (`1`) or a percentage of the group's count (`25%`).",
            "type": ["integer", "string"],
            "minimum": 0,
            "maximum": 4294967295u64,
            "pattern": "^[0-9]{1,9}%?$"
        })
    }
}

/// A port (`80`), a range (`8000-8100`) or `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// First port.
    pub from: u16,
    /// Last port (equal to `from` for a single port).
    pub to: u16,
}

impl PortRange {
    /// Every port.
    pub const ALL: PortRange = PortRange { from: 0, to: 65535 };
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let expected = || {
            format!("expected a port like `80`, a range like `8000-8100`, or `all`, found `{s}`")
        };
        let trimmed = s.trim();
        if trimmed == "all" {
            return Ok(PortRange::ALL);
        }
        let (from, to) = match trimmed.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (trimmed, trimmed),
        };
        let from: u16 = from.parse().map_err(|_| expected())?;
        let to: u16 = to.parse().map_err(|_| expected())?;
        if from > to {
            return Err(format!(
                "port range `{s}` runs backwards; write `{to}-{from}`"
            ));
        }
        Ok(PortRange { from, to })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ALL {
            write!(f, "all")
        } else if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

text_value!(
    PortRange,
    "a port like `80`, a range like `8000-8100`, or `all`"
);

impl JsonSchema for PortRange {
    fn schema_name() -> Cow<'static, str> {
        "PortRange".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port (`80`), a range (`8000-8100`) or `all`.",
            "type": ["integer", "string"],
            "minimum": 0,
            "maximum": 65535,
            "pattern": "^([0-9]{1,5}(-[0-9]{1,5})?|all)$"
        })
    }
}

/// The machine image of a group: an AMI id, or the newest image matching a name pattern
/// from an owner.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum ImageRef {
    /// An AMI id such as `ami-0abc1234`.
    Id(String),
    /// The newest image whose name matches `name` (wildcards `*`) owned by `owner`.
    Lookup {
        /// Image name pattern, e.g. `ubuntu/images/*24.04*`.
        name: String,
        /// Owner: an account id or `amazon`, `self`, `aws-marketplace`.
        owner: String,
    },
}

impl JsonSchema for ImageRef {
    fn schema_name() -> Cow<'static, str> {
        "ImageRef".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The machine image: an AMI id (`ami-0abc1234`), or the newest image whose name matches a pattern, from an owner (`{ name: \"ubuntu/images/*24.04*\", owner: \"099720109477\" }`).",
            "oneOf": [
                {
                    "description": "An AMI id such as `ami-0abc1234`.",
                    "type": "string",
                    "pattern": "^ami-[0-9a-f]{1,17}$"
                },
                {
                    "description": "The newest image whose name matches `name` (wildcards `*`) owned by `owner`.",
                    "type": "object",
                    "properties": {
                        "name": {
                            "description": "Image name pattern, e.g. `ubuntu/images/*24.04*`.",
                            "type": "string",
                            "minLength": 1
                        },
                        "owner": {
                            "description": "Owner: a 12-digit account id, or `amazon`, `self`, `aws-marketplace`.",
                            "type": "string",
                            "pattern": "^([0-9]{12}|amazon|self|aws-marketplace)$"
                        }
                    },
                    "required": ["name", "owner"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for ImageRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Lookup {
            name: String,
            owner: String,
        }
        struct ImageVisitor;
        impl<'de> Visitor<'de> for ImageVisitor {
            type Value = ImageRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AMI id like `ami-0abc1234` or `{ name: ..., owner: ... }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImageRef, E> {
                Ok(ImageRef::Id(v.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ImageRef, A::Error> {
                let lookup = Lookup::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ImageRef::Lookup {
                    name: lookup.name,
                    owner: lookup.owner,
                })
            }
        }
        deserializer.deserialize_any(ImageVisitor)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Id(id) => write!(f, "{id}"),
            ImageRef::Lookup { name, owner } => write!(f, "newest `{name}` owned by `{owner}`"),
        }
    }
}

/// A CloudFormation parameter value: literal text (which may hold `${...}` references) or
/// a value read from the environment at plan time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ParameterValue {
    /// Literal text; `${apps.web.version}`, `${outputs.db.Endpoint}` and
    /// `${security_groups.web.id}` are references.
    Text(super::Interpolated),
    /// Read from an environment variable when planning.
    FromEnv {
        /// The environment variable's name.
        from_env: String,
        /// Never shown in plans, logs or history.
        #[serde(default)]
        sensitive: bool,
    },
}

impl<'de> Deserialize<'de> for ParameterValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromEnv {
            from_env: String,
            #[serde(default)]
            sensitive: Option<Flag>,
        }
        struct ParameterVisitor;
        impl<'de> Visitor<'de> for ParameterVisitor {
            type Value = ParameterValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, or `{ from_env: NAME, sensitive: true }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ParameterValue, E> {
                Ok(ParameterValue::Text(super::Interpolated::parse(v)))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ParameterValue, A::Error> {
                let env = FromEnv::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ParameterValue::FromEnv {
                    from_env: env.from_env,
                    sensitive: env.sensitive.is_some_and(|f| f.0),
                })
            }
        }
        deserializer.deserialize_any(ParameterVisitor)
    }
}

/// A YAML boolean (`true`/`false`, `yes`/`no`), read from the text marked-yaml hands over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bool::deserialize(deserializer).map(Flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(
            "30s".parse::<Duration>().unwrap().0,
            StdDuration::from_secs(30)
        );
        assert_eq!(
            "1h30m".parse::<Duration>().unwrap().0,
            StdDuration::from_secs(5400)
        );
        assert!("30".parse::<Duration>().unwrap_err().contains("no unit"));
        assert!("soon".parse::<Duration>().is_err());
    }

    #[test]
    fn quantities_round_like_kubernetes() {
        let q: Quantity = "25%".parse().unwrap();
        assert_eq!(q.resolve(10, true), 3);
        assert_eq!(q.resolve(10, false), 2);
        assert_eq!("2".parse::<Quantity>().unwrap().resolve(10, false), 2);
        assert!("-1".parse::<Quantity>().is_err());
        assert!("x%".parse::<Quantity>().is_err());
    }

    #[test]
    fn port_ranges() {
        assert_eq!(
            "80".parse::<PortRange>().unwrap(),
            PortRange { from: 80, to: 80 }
        );
        assert_eq!("8000-8100".parse::<PortRange>().unwrap().to, 8100);
        assert_eq!("all".parse::<PortRange>().unwrap(), PortRange::ALL);
        assert!(
            "90-80"
                .parse::<PortRange>()
                .unwrap_err()
                .contains("backwards")
        );
        assert!("70000".parse::<PortRange>().is_err());
    }
}
