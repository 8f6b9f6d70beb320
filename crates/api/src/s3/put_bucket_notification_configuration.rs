//! PutBucketNotificationConfiguration: Mini AWS sends no event
//! notifications, so the one configuration it can honour is the empty one
//! (`<NotificationConfiguration/>`, which is how S3 clients turn a bucket's
//! notifications off): it succeeds and changes nothing, and the bucket
//! keeps answering GetBucketNotificationConfiguration with none (see
//! [`super::get_bucket_notification_configuration`]). A configuration that
//! names any destination (an SNS topic, an SQS queue, a Lambda function,
//! EventBridge) would promise deliveries that never come: `NotImplemented`,
//! and nothing changes.

use miniaws_core::storage::S3Action;
use s3s::dto::{
    NotificationConfiguration, PutBucketNotificationConfigurationInput,
    PutBucketNotificationConfigurationOutput,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{MiniS3, caller};

pub(super) async fn handle(
    s3: &MiniS3,
    req: S3Request<PutBucketNotificationConfigurationInput>,
) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
    let caller = caller(&req)?;
    s3.owned_bucket(caller, &req.input.bucket, S3Action::PutBucketNotification)
        .await?;
    if names_a_destination(&req.input.notification_configuration) {
        return Err(s3_error!(
            NotImplemented,
            "Mini AWS sends no event notifications: only an empty NotificationConfiguration (no topic, queue, Lambda function or EventBridge) is accepted"
        ));
    }
    Ok(S3Response::new(
        PutBucketNotificationConfigurationOutput::default(),
    ))
}

/// Whether `config` asks for any delivery.
fn names_a_destination(config: &NotificationConfiguration) -> bool {
    config.event_bridge_configuration.is_some()
        || config
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        || config
            .queue_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
        || config
            .topic_configurations
            .as_ref()
            .is_some_and(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::{EventBridgeConfiguration, QueueConfiguration};

    #[test]
    fn only_an_empty_configuration_is_honoured() {
        assert!(!names_a_destination(&NotificationConfiguration::default()));
        let empty_lists = NotificationConfiguration {
            queue_configurations: Some(Vec::new()),
            topic_configurations: Some(Vec::new()),
            lambda_function_configurations: Some(Vec::new()),
            event_bridge_configuration: None,
        };
        assert!(!names_a_destination(&empty_lists));
        let bridge = NotificationConfiguration {
            event_bridge_configuration: Some(EventBridgeConfiguration::default()),
            ..Default::default()
        };
        assert!(names_a_destination(&bridge));
        let queue = NotificationConfiguration {
            queue_configurations: Some(vec![QueueConfiguration {
                events: Vec::new(),
                filter: None,
                id: None,
                queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            }]),
            ..Default::default()
        };
        assert!(names_a_destination(&queue));
    }
}
