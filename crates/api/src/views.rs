//! How the domain is shown on the native API: conversions from the types of
//! `miniaws-core` to the wire types of `miniaws-wire`, the one place where
//! the two meet. (Functions rather than `From` impls: both sides are foreign
//! to this crate.)

use miniaws_core::compute::{ImageSummary, Instance, InstanceStats, InstanceType};
use miniaws_core::identity::{ApiKey, CreatedKey, User, UserId};
use miniaws_core::storage::{
    Bucket, BucketName, ObjectMeta, ObjectSummary, ObjectVersion, Tags, VersionEntry, object_arn,
};
use miniaws_wire as wire;

/// An instance, with its ports as published (or as requested, before they
/// are) and the URLs of its published TCP ports.
pub(crate) fn instance(i: Instance) -> wire::Instance {
    let urls = i.access_urls();
    let ports = i
        .ports
        .iter()
        .map(|p| {
            let published = i
                .published_ports
                .iter()
                .find(|q| q.container_port == p.container_port && q.protocol == p.protocol);
            wire::InstancePort {
                host_ip: published.map(|q| q.host_ip.clone()),
                host_port: published.map(|q| q.host_port).or(p.host_port),
                container_port: p.container_port,
                protocol: p.protocol.as_str().to_owned(),
            }
        })
        .collect();
    wire::Instance {
        arn: format!("arn:miniaws:compute:local:{}:instance/{}", i.owner, i.id),
        ec2_instance_id: i.ec2_id().to_string(),
        id: i.id.as_uuid(),
        name: i.name,
        image: i.image,
        instance_type: i.instance_type,
        state: i.state.as_str().to_owned(),
        state_reason: i.state_reason,
        exit_code: i.exit_code,
        container_id: i.container_id,
        ports,
        urls,
        private_ip: i.private_ip,
        env: i.env,
        command: i.command,
        tags: i.tags,
        created_at: i.created_at,
        updated_at: i.updated_at,
        terminated_at: i.deleted_at,
    }
}

/// An entry of the instance-type catalogue; `default` when launches without
/// a type get this one.
pub(crate) fn instance_type(t: &InstanceType, default: bool) -> wire::InstanceType {
    wire::InstanceType {
        name: t.name.to_owned(),
        vcpus: t.vcpus,
        memory_mib: t.memory_mib,
        default,
    }
}

/// An image of the runtime.
pub(crate) fn image(i: ImageSummary) -> wire::Image {
    wire::Image {
        name: i.name,
        id: i.id,
        size_bytes: i.size_bytes,
        created_at: i.created_at,
        architecture: i.architecture,
    }
}

/// One stats sample.
pub(crate) fn instance_stats(s: InstanceStats) -> wire::InstanceStats {
    wire::InstanceStats {
        cpu_percent: s.cpu_percent,
        memory_usage_bytes: s.memory_usage_bytes,
        memory_limit_bytes: s.memory_limit_bytes,
        network_rx_bytes: s.network_rx_bytes,
        network_tx_bytes: s.network_tx_bytes,
        read_at: s.read_at,
    }
}

/// A bucket, with its ARN.
pub(crate) fn bucket(b: Bucket) -> wire::BucketInfo {
    wire::BucketInfo {
        arn: format!("arn:miniaws:storage:local:{}:bucket/{}", b.owner, b.name),
        name: b.name.to_string(),
        created_at: b.created_at,
    }
}

/// An object's metadata, with its ARN under `owner` and the quoted ETag.
pub(crate) fn object(meta: ObjectMeta, owner: UserId) -> wire::ObjectInfo {
    // The rule the S3 endpoint answers `x-amz-version-id` by, so both APIs
    // name the same versions.
    let version_id = crate::s3::versions::answer_version(&meta, None);
    wire::ObjectInfo {
        version_id,
        arn: meta.arn(owner),
        bucket: meta.bucket.into_string(),
        key: meta.key.into_string(),
        size_bytes: meta.size_bytes,
        etag: meta.etag.quoted(),
        content_type: meta.content_type,
        metadata: meta.user_metadata,
        last_modified: meta.last_modified,
        tags: object_tags(&meta.tags),
    }
}

/// An object as a listing shows it: no version id (a listing lists
/// current objects; `?versions` names versions).
pub(crate) fn listed_object(
    object: ObjectSummary,
    bucket: &BucketName,
    owner: UserId,
) -> wire::ObjectInfo {
    wire::ObjectInfo {
        version_id: None,
        arn: object_arn(owner, bucket, &object.key),
        bucket: bucket.as_str().to_owned(),
        key: object.key.into_string(),
        size_bytes: object.size_bytes,
        etag: object.etag.quoted(),
        content_type: object.content_type,
        metadata: object.user_metadata,
        last_modified: object.last_modified,
        tags: object_tags(&object.tags),
    }
}

/// An object's tags as the wire names them, in their stored order.
fn object_tags(tags: &Tags) -> Vec<wire::ObjectTag> {
    tags.iter()
        .map(|(key, value)| wire::ObjectTag {
            key: key.to_owned(),
            value: value.to_owned(),
        })
        .collect()
}

/// A user.
pub(crate) fn user(u: User) -> wire::User {
    wire::User {
        id: u.id.as_uuid(),
        name: u.name,
        created_at: u.created_at,
    }
}

/// A key as listed: no secret.
pub(crate) fn api_key(k: ApiKey) -> wire::ApiKey {
    wire::ApiKey {
        id: k.id.as_uuid(),
        user_id: k.user_id.as_uuid(),
        name: k.name,
        prefix: k.prefix,
        access_key_id: k.access_key_id,
        created_at: k.created_at,
        last_used: k.last_used,
    }
}

/// A key just created, with its secrets (shown this once).
pub fn created_key(k: CreatedKey) -> wire::CreatedKey {
    wire::CreatedKey {
        id: k.id.as_uuid(),
        user_id: k.user_id.as_uuid(),
        name: k.name,
        key: k.key,
        access_key_id: k.access_key_id,
        secret_access_key: k.secret_access_key,
        created_at: k.created_at,
    }
}

/// One entry of a version listing.
pub(crate) fn version(entry: VersionEntry) -> wire::VersionInfo {
    let version_id = entry.version.version_id().to_string();
    match entry.version {
        ObjectVersion::Object(meta) => wire::VersionInfo {
            key: meta.key.to_string(),
            version_id,
            is_latest: entry.is_latest,
            delete_marker: false,
            size_bytes: meta.size_bytes,
            etag: Some(meta.etag.quoted()),
            last_modified: meta.last_modified,
        },
        ObjectVersion::DeleteMarker(marker) => wire::VersionInfo {
            key: marker.key.to_string(),
            version_id,
            is_latest: entry.is_latest,
            delete_marker: true,
            size_bytes: 0,
            etag: None,
            last_modified: marker.last_modified,
        },
    }
}

#[cfg(test)]
mod tests {
    //! The exact JSON of every view, from fixed domain values: a renamed,
    //! reordered or reshaped field fails here before it reaches a client.

    use axum::response::IntoResponse;
    use miniaws_core::compute::{
        Instance, InstanceId, InstanceState, InstanceStats, InstanceType, PortMapping, Protocol,
        PublishedPort,
    };
    use miniaws_core::identity::{ApiKey, ApiKeyId, CreatedKey, User, UserId};
    use miniaws_core::storage::{Bucket, BucketName, ETag, ObjectId, ObjectKey, ObjectMeta};
    use std::collections::BTreeMap;
    use time::macros::datetime;
    use uuid::Uuid;

    use super::wire;
    use crate::json::Data;

    const OWNER: &str = "11111111-1111-4111-8111-111111111111";
    const INSTANCE: &str = "22222222-2222-4222-8222-222222222222";
    const KEY: &str = "33333333-3333-4333-8333-333333333333";

    fn owner() -> UserId {
        UserId::from_uuid(Uuid::parse_str(OWNER).expect("a valid UUID"))
    }

    fn json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).expect("views serialise")
    }

    async fn body(response: impl IntoResponse) -> String {
        let bytes = axum::body::to_bytes(response.into_response().into_body(), usize::MAX)
            .await
            .expect("an in-memory body");
        String::from_utf8(bytes.to_vec()).expect("JSON is UTF-8")
    }

    fn running_instance() -> Instance {
        Instance {
            id: InstanceId::from_uuid(Uuid::parse_str(INSTANCE).expect("a valid UUID")),
            owner: owner(),
            name: "web".into(),
            image: "nginx:alpine".into(),
            instance_type: "t3.micro".into(),
            state: InstanceState::Running,
            state_reason: None,
            exit_code: None,
            container_id: Some("c0ffee".into()),
            ports: vec![
                PortMapping {
                    host_port: None,
                    container_port: 80,
                    protocol: Protocol::Tcp,
                },
                PortMapping {
                    host_port: Some(5353),
                    container_port: 53,
                    protocol: Protocol::Udp,
                },
            ],
            published_ports: vec![PublishedPort {
                host_ip: "127.0.0.1".into(),
                host_port: 49153,
                container_port: 80,
                protocol: Protocol::Tcp,
            }],
            private_ip: Some("172.17.0.2".into()),
            env: BTreeMap::from([("B".into(), "2".into()), ("A".into(), "1".into())]),
            command: Some(vec!["sleep".into(), "60".into()]),
            tags: BTreeMap::from([("env".into(), "dev".into())]),
            origin: None,
            created_at: datetime!(2026-03-04 05:06:07.123456789 UTC),
            updated_at: datetime!(2026-03-04 05:06:08 UTC),
            deleted_at: None,
        }
    }

    const RUNNING_JSON: &str = concat!(
        r#"{"id":"22222222-2222-4222-8222-222222222222","#,
        r#""arn":"arn:miniaws:compute:local:11111111-1111-4111-8111-111111111111:instance/22222222-2222-4222-8222-222222222222","#,
        r#""ec2_instance_id":"i-22222222222222222","#,
        r#""name":"web","image":"nginx:alpine","instance_type":"t3.micro","state":"RUNNING","#,
        r#""state_reason":null,"exit_code":null,"container_id":"c0ffee","#,
        r#""ports":[{"host_ip":"127.0.0.1","host_port":49153,"container_port":80,"protocol":"tcp"},"#,
        r#"{"host_ip":null,"host_port":5353,"container_port":53,"protocol":"udp"}],"#,
        r#""urls":["http://127.0.0.1:49153"],"private_ip":"172.17.0.2","env":{"A":"1","B":"2"},"command":["sleep","60"],"tags":{"env":"dev"},"#,
        r#""created_at":"2026-03-04T05:06:07.123456789Z","updated_at":"2026-03-04T05:06:08Z","#,
        r#""terminated_at":null}"#
    );

    #[test]
    fn instances() {
        assert_eq!(json(&super::instance(running_instance())), RUNNING_JSON);

        let terminated = Instance {
            state: InstanceState::Terminated,
            state_reason: Some("terminated by request".into()),
            exit_code: Some(137),
            container_id: None,
            ports: Vec::new(),
            published_ports: Vec::new(),
            private_ip: None,
            env: BTreeMap::new(),
            command: None,
            tags: BTreeMap::new(),
            deleted_at: Some(datetime!(2026-03-04 06:00:00 UTC)),
            ..running_instance()
        };
        assert_eq!(
            json(&super::instance(terminated)),
            concat!(
                r#"{"id":"22222222-2222-4222-8222-222222222222","#,
                r#""arn":"arn:miniaws:compute:local:11111111-1111-4111-8111-111111111111:instance/22222222-2222-4222-8222-222222222222","#,
                r#""ec2_instance_id":"i-22222222222222222","#,
                r#""name":"web","image":"nginx:alpine","instance_type":"t3.micro","state":"TERMINATED","#,
                r#""state_reason":"terminated by request","exit_code":137,"container_id":null,"#,
                r#""ports":[],"urls":[],"private_ip":null,"env":{},"command":null,"tags":{},"#,
                r#""created_at":"2026-03-04T05:06:07.123456789Z","updated_at":"2026-03-04T05:06:08Z","#,
                r#""terminated_at":"2026-03-04T06:00:00Z"}"#
            )
        );
    }

    #[test]
    fn instance_pages_types_and_stats() {
        let page = wire::InstancePage {
            data: vec![super::instance(running_instance())],
            next_token: Some(INSTANCE.into()),
        };
        assert_eq!(
            json(&page),
            format!(r#"{{"data":[{RUNNING_JSON}],"next_token":"{INSTANCE}"}}"#)
        );

        let t3_micro = InstanceType {
            name: "t3.micro",
            vcpus: 2,
            memory_mib: 1024,
        };
        let instance_type = super::instance_type(&t3_micro, true);
        assert_eq!(
            json(&instance_type),
            r#"{"name":"t3.micro","vcpus":2,"memory_mib":1024,"default":true}"#
        );

        let stats = InstanceStats {
            cpu_percent: 12.5,
            memory_usage_bytes: 1_048_576,
            memory_limit_bytes: 1_073_741_824,
            network_rx_bytes: 10,
            network_tx_bytes: 20,
            read_at: datetime!(2026-03-04 05:06:07.5 UTC),
        };
        assert_eq!(
            json(&super::instance_stats(stats)),
            concat!(
                r#"{"cpu_percent":12.5,"memory_usage_bytes":1048576,"memory_limit_bytes":1073741824,"#,
                r#""network_rx_bytes":10,"network_tx_bytes":20,"read_at":"2026-03-04T05:06:07.5Z"}"#
            )
        );
    }

    fn object() -> ObjectMeta {
        ObjectMeta {
            id: ObjectId::from_uuid(Uuid::nil()),
            bucket: BucketName::parse("photos").expect("a valid name"),
            key: ObjectKey::parse("2026/cat.jpg").expect("a valid key"),
            blob_id: Default::default(),
            size_bytes: 5,
            etag: ETag::from_stored("5d41402abc4b2a76b9719d911017c592"),
            content_type: "image/jpeg".into(),
            user_metadata: BTreeMap::from([("colour".into(), "blue".into())]),
            headers: BTreeMap::from([("cache-control".into(), "no-cache".into())]),
            last_modified: datetime!(2026-03-04 05:06:07 UTC),
            parts: Vec::new(),
            tags: Default::default(),
            versioned: false,
            in_versioned_bucket: false,
            lock: Default::default(),
        }
    }

    const OBJECT_JSON: &str = concat!(
        r#"{"bucket":"photos","key":"2026/cat.jpg","#,
        r#""arn":"arn:miniaws:storage:local:11111111-1111-4111-8111-111111111111:object/photos/2026/cat.jpg","#,
        r#""size_bytes":5,"etag":"\"5d41402abc4b2a76b9719d911017c592\"","content_type":"image/jpeg","#,
        r#""metadata":{"colour":"blue"},"last_modified":"2026-03-04T05:06:07Z"}"#
    );

    #[test]
    fn buckets_objects_and_listings() {
        let bucket = Bucket {
            name: BucketName::parse("photos").expect("a valid name"),
            owner: owner(),
            created_at: datetime!(2026-03-04 05:06:07 UTC),
        };
        assert_eq!(
            json(&super::bucket(bucket)),
            concat!(
                r#"{"name":"photos","#,
                r#""arn":"arn:miniaws:storage:local:11111111-1111-4111-8111-111111111111:bucket/photos","#,
                r#""created_at":"2026-03-04T05:06:07Z"}"#
            )
        );

        assert_eq!(json(&super::object(object(), owner())), OBJECT_JSON);
        let tagged = ObjectMeta {
            tags: miniaws_core::storage::Tags::new(vec![
                ("team".into(), "blue green".into()),
                ("env".into(), String::new()),
            ])
            .expect("valid tags"),
            versioned: false,
            in_versioned_bucket: false,
            lock: Default::default(),
            ..object()
        };
        assert_eq!(
            json(&super::object(tagged, owner())),
            format!(
                r#"{}"tags":[{{"key":"team","value":"blue green"}},{{"key":"env","value":""}}]}}"#,
                OBJECT_JSON.strip_suffix('}').expect("an object").to_owned() + ","
            ),
            "tags, in order, only when there are some"
        );

        let page = wire::ObjectPage {
            objects: vec![super::object(object(), owner())],
            common_prefixes: vec!["2027/".into()],
            next_cursor: Some("c1.00".into()),
        };
        assert_eq!(
            json(&page),
            format!(
                r#"{{"objects":[{OBJECT_JSON}],"common_prefixes":["2027/"],"next_cursor":"c1.00"}}"#
            )
        );
        let last = wire::ObjectPage {
            objects: Vec::new(),
            common_prefixes: Vec::new(),
            next_cursor: None,
        };
        assert_eq!(
            json(&last),
            r#"{"objects":[],"common_prefixes":[],"next_cursor":null}"#
        );
    }

    #[test]
    fn users_and_keys() {
        let key_id = ApiKeyId::from_uuid(Uuid::parse_str(KEY).expect("a valid UUID"));
        let user = User {
            id: owner(),
            name: "alice".into(),
            created_at: datetime!(2026-03-04 05:06:07 UTC),
        };
        let user_json = concat!(
            r#"{"id":"11111111-1111-4111-8111-111111111111","name":"alice","#,
            r#""created_at":"2026-03-04T05:06:07Z"}"#
        );
        assert_eq!(json(&super::user(user.clone())), user_json);
        let whoami = wire::WhoAmI {
            user: super::user(user),
            key_id: key_id.as_uuid(),
        };
        assert_eq!(
            json(&whoami),
            format!(r#"{{"user":{user_json},"key_id":"{KEY}"}}"#)
        );

        let key = ApiKey {
            id: key_id,
            user_id: owner(),
            name: "laptop".into(),
            prefix: "mk_abcdef".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            created_at: datetime!(2026-03-04 05:06:07 UTC),
            last_used: None,
        };
        let listed = |last_used: &str| {
            format!(
                concat!(
                    r#"{{"id":"{KEY}","user_id":"{OWNER}","name":"laptop","prefix":"mk_abcdef","#,
                    r#""access_key_id":"AKIAEXAMPLE","created_at":"2026-03-04T05:06:07Z","last_used":{}}}"#
                ),
                last_used,
                KEY = KEY,
                OWNER = OWNER
            )
        };
        assert_eq!(json(&super::api_key(key.clone())), listed("null"));
        let used = ApiKey {
            last_used: Some(datetime!(2026-03-04 05:07:00 UTC)),
            ..key
        };
        assert_eq!(
            json(&super::api_key(used)),
            listed(r#""2026-03-04T05:07:00Z""#)
        );

        let created = CreatedKey {
            id: key_id,
            user_id: owner(),
            name: "laptop".into(),
            key: "mk_secret".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: "shh".into(),
            created_at: datetime!(2026-03-04 05:06:07 UTC),
        };
        assert_eq!(
            json(&super::created_key(created)),
            format!(
                concat!(
                    r#"{{"id":"{}","user_id":"{}","name":"laptop","key":"mk_secret","#,
                    r#""access_key_id":"AKIAEXAMPLE","secret_access_key":"shh","#,
                    r#""created_at":"2026-03-04T05:06:07Z"}}"#
                ),
                KEY, OWNER
            )
        );
    }

    #[test]
    fn health() {
        let up = wire::Health {
            status: "UP".into(),
            database: "CONNECTED".into(),
            docker: "DISABLED".into(),
            problems: Vec::new(),
            version: "0.1.0".into(),
            time: datetime!(2026-03-04 05:06:07.25 UTC),
        };
        assert_eq!(
            json(&up),
            concat!(
                r#"{"status":"UP","database":"CONNECTED","docker":"DISABLED","version":"0.1.0","#,
                r#""time":"2026-03-04T05:06:07.25Z"}"#
            )
        );
        let down = wire::Health {
            status: "DOWN".into(),
            database: "DISCONNECTED".into(),
            problems: vec!["database: refused".into()],
            ..up
        };
        assert_eq!(
            json(&down),
            concat!(
                r#"{"status":"DOWN","database":"DISCONNECTED","docker":"DISABLED","#,
                r#""problems":["database: refused"],"version":"0.1.0","time":"2026-03-04T05:06:07.25Z"}"#
            )
        );
    }

    #[tokio::test]
    async fn envelopes() {
        assert_eq!(
            body(Data(vec!["x"])).await,
            r#"{"data":["x"]}"#,
            "success envelope"
        );
        assert_eq!(
            body(crate::ApiError::bad_request("name is \"bad\"")).await,
            r#"{"error":{"message":"name is \"bad\"","type":"INVALID_INPUT"}}"#,
            "error envelope"
        );
    }
}
