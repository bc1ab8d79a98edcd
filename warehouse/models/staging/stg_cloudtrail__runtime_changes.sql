-- CloudTrail management events (successful write API calls, selected at extraction) as runtime
-- changes. actor = userIdentity.arn (else userName, principalId); for an assumed role the issuing
-- role is in detail.session_issuer. action = '<service>:<eventName>' (ecs:UpdateService),
-- resource_kind = resources[0].type else the event source, resource_name = resources[0].ARN else
-- a naming request parameter, namespace = '<account>/<region>'. environment, actor_kind and the
-- configured service come from the extraction context; service falls back to the resource
-- name's last segment.
with
source as (
    select _extracted_at,
           json_transform(_context, '{"file": "VARCHAR", "record_index": "INTEGER", "account": "VARCHAR",
                                      "region": "VARCHAR", "environment": "VARCHAR", "actor_kind": "VARCHAR",
                                      "service": "VARCHAR"}') as c,
           json_transform(_payload, '{"eventID": "VARCHAR", "eventTime": "VARCHAR", "eventSource": "VARCHAR",
                                      "eventName": "VARCHAR", "eventType": "VARCHAR", "awsRegion": "VARCHAR",
                                      "sourceIPAddress": "VARCHAR", "userAgent": "VARCHAR",
                                      "recipientAccountId": "VARCHAR", "readOnly": "BOOLEAN",
                                      "sessionCredentialFromConsole": "VARCHAR",
                                      "userIdentity": {"type": "VARCHAR", "arn": "VARCHAR", "userName": "VARCHAR",
                                                       "principalId": "VARCHAR", "invokedBy": "VARCHAR",
                                                       "sessionContext": {"sessionIssuer": {"arn": "VARCHAR", "userName": "VARCHAR"}}},
                                      "resources": [{"ARN": "VARCHAR", "type": "VARCHAR"}],
                                      "requestParameters": "JSON"}') as p
    from raw.cloudtrail__events
),
latest as (
    select *,
           coalesce(p.resources[1].ARN,
                    json_extract_string(p.requestParameters, ['$.service', '$.functionName', '$.bucketName',
                        '$.roleName', '$.policyArn', '$.userName', '$.groupId', '$.dBInstanceIdentifier',
                        '$.clusterName', '$.cluster', '$.name', '$.stackName', '$.keyId', '$.secretId',
                        '$.repositoryName', '$.instanceId', '$.tableName', '$.autoScalingGroupName',
                        '$.loadBalancerName']).list_filter(lambda v: v is not null and v <> '')[1]) as resource
    from source
    qualify row_number() over (partition by p.eventID order by _extracted_at desc) = 1
),
final as (
    select
        p.eventID as event_id,
        try_cast(p.eventTime as timestamptz) as observed_at,
        coalesce(p.userIdentity.arn, p.userIdentity.userName, p.userIdentity.principalId, p.userIdentity.invokedBy) as actor,
        coalesce(c.actor_kind, 'unknown') as actor_kind,
        coalesce(c.service, regexp_extract(resource, '([^/:]+)$', 1)) as service,
        c.environment,
        coalesce(p.resources[1].type, p.eventSource) as resource_kind,
        resource as resource_name,
        coalesce(p.recipientAccountId, c.account) || '/' || coalesce(p.awsRegion, c.region) as namespace,
        split_part(p.eventSource, '.', 1) || ':' || p.eventName as action,
        c.file as source_file,
        json_object('event_source', p.eventSource, 'event_name', p.eventName, 'event_type', p.eventType,
                    'identity_type', p.userIdentity.type,
                    'session_issuer', p.userIdentity.sessionContext.sessionIssuer.arn,
                    'source_ip', p.sourceIPAddress, 'user_agent', p.userAgent, 'read_only', p.readOnly,
                    'request_parameters', p.requestParameters,
                    'console', coalesce(p.sessionCredentialFromConsole = 'true', false)) as detail
    from latest
)
select * from final
