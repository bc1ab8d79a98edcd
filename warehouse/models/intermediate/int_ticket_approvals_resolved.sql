-- Approval records of change requests, with the approver resolved to a person and their roles.
with
approvals as (select * from stg_servicenow__approvals),
identities as (select * from int_people_identities where system = 'servicenow'),
final as (
    select approvals.*, identities.person_id as approver_person_id,
           coalesce(identities.roles, []) as approver_roles
    from approvals
    left join identities on identities.identifier = approvals.approver_sys_id
)
select * from final
