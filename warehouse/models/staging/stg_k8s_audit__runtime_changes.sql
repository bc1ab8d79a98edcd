-- Kubernetes audit events (successful create/update/patch/delete, selected at extraction) as
-- runtime changes. actor = user.username (the identity that authenticated; an impersonated user
-- is kept in detail), observed_at = stageTimestamp (else requestReceivedTimestamp),
-- resource_kind = objectRef.resource[/subresource]. environment, actor_kind and the configured
-- service come from the extraction context (cluster config); service falls back to the object's
-- app.kubernetes.io/name or app label, then to the object name.
-- merge key: event_id
with
source as (
    select _extracted_at,
           json_transform(_context, '{"cluster": "VARCHAR", "file": "VARCHAR", "line": "INTEGER",
                                      "environment": "VARCHAR", "actor_kind": "VARCHAR", "service": "VARCHAR"}') as c,
           json_transform(_payload, '{"auditID": "VARCHAR", "verb": "VARCHAR", "requestURI": "VARCHAR",
                                      "user": {"username": "VARCHAR"}, "impersonatedUser": {"username": "VARCHAR"},
                                      "sourceIPs": "VARCHAR[]", "userAgent": "VARCHAR",
                                      "objectRef": {"resource": "VARCHAR", "subresource": "VARCHAR", "namespace": "VARCHAR",
                                                    "name": "VARCHAR", "apiGroup": "VARCHAR", "apiVersion": "VARCHAR"},
                                      "responseStatus": {"code": "INTEGER"},
                                      "requestReceivedTimestamp": "VARCHAR", "stageTimestamp": "VARCHAR"}') as p,
           json_extract_string(_payload, ['$.requestObject.metadata.name', '$.responseObject.metadata.name',
                                          '$.requestObject.metadata.labels."app.kubernetes.io/name"',
                                          '$.requestObject.metadata.labels.app',
                                          '$.responseObject.metadata.labels."app.kubernetes.io/name"',
                                          '$.responseObject.metadata.labels.app']) as names,
           list_concat(json_extract_string(_payload, '$.requestObject.spec.template.spec.containers[*].image'),
                       json_extract_string(_payload, '$.requestObject.spec.jobTemplate.spec.template.spec.containers[*].image'),
                       json_extract_string(_payload, '$.requestObject.spec.containers[*].image')) as images
    from raw.k8s_audit__events
),
latest as (
    select * from source
    qualify row_number() over (partition by p.auditID order by _extracted_at desc) = 1
),
documents as (select p.auditID as event_id, _extracted_at from source),
final as (
    select
        p.auditID as event_id,
        try_cast(coalesce(p.stageTimestamp, p.requestReceivedTimestamp) as timestamptz) as observed_at,
        p.user.username as actor,
        coalesce(c.actor_kind, 'unknown') as actor_kind,
        coalesce(c.service, names[3], names[4], names[5], names[6], p.objectRef.name, names[1], names[2]) as service,
        c.environment,
        p.objectRef.resource || coalesce('/' || p.objectRef.subresource, '') as resource_kind,
        coalesce(p.objectRef.name, names[1], names[2]) as resource_name,
        p.objectRef.namespace as namespace,
        p.verb as action,
        c.file as source_file,
        json_object('cluster', c.cluster, 'line', c.line, 'api_group', p.objectRef.apiGroup,
                    'api_version', p.objectRef.apiVersion, 'impersonated_user', p.impersonatedUser.username,
                    'user_agent', p.userAgent, 'source_ips', p.sourceIPs, 'request_uri', p.requestURI,
                    'response_code', p.responseStatus.code, 'images', coalesce(images, [])) as detail,
        _extracted_at
    from latest
)
select * from final
