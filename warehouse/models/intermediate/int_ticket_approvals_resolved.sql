-- Approval records of change requests, with the approver resolved to a person and their roles.
-- Merged per approval record (warehouse/merge.py): a day recomputes the approvals it touched.
-- merge key: source_system, sys_id
-- merge inputs: int_approvals_unioned
with
approvals as (select * from int_approvals_unioned),
identities as (select * from int_people_identities),
final as (
    select approvals.*, identities.person_id as approver_person_id,
           coalesce(identities.roles, []) as approver_roles
    from approvals
    left join identities
        on identities.system = approvals.source_system and identities.identifier = approvals.approver_sys_id
)
select * from final
