"""Where moto 5.2.5's CloudFormation differs from AWS in ways rollstack relies on,
patched to behave as AWS does. Imported by `moto_harness.py` before the server starts.

Each fix names the AWS behaviour it restores; none changes what a request may do.
"""
from moto.cloudformation import models, parsing


def _split_get_att(constructor):
    """AWS reads `!GetAtt Database.Endpoint.Address` as resource `Database`, attribute
    `Endpoint.Address` (split at the first dot); moto splits at every dot."""

    def construct(loader, tag, node):
        if tag == "!GetAtt" and isinstance(node.value, str):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        return constructor(loader, tag, node)

    return construct


models.yaml_tag_constructor = _split_get_att(models.yaml_tag_constructor)

_apply_change_set = models.ChangeSet.apply


def _apply_and_refresh_outputs(self):
    """AWS evaluates a stack's outputs from the template a change set installs; moto
    keeps the outputs of the template the stack was created with (none, for a stack
    created by a change set)."""
    _apply_change_set(self)
    self.stack.template = self.template
    self.stack._parse_template()
    self.stack.output_map = self.stack._create_output_map()


models.ChangeSet.apply = _apply_and_refresh_outputs

_parse_and_update_resource = parsing.parse_and_update_resource


def _update_or_keep(logical_id, resource_json, resources_map, *args, **kwargs):
    """AWS updates a resource whose properties change (in place, or by replacement);
    for types moto cannot update (`AWS::RDS::DBInstance`, ...) moto stores `None` in
    its place, and every `Fn::GetAtt` of it, so every DescribeStacks, fails from then
    on. Keep the resource as it was: its attributes stay readable."""
    updated = _parse_and_update_resource(logical_id, resource_json, resources_map, *args, **kwargs)
    if updated is None:
        return resources_map[logical_id]
    return updated


parsing.parse_and_update_resource = _update_or_keep

# Every name a template's `Ref` or `Fn::GetAtt` may point at besides its own resources
# and parameters.
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}


def _referenced(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield value
            elif key == "Fn::GetAtt" and isinstance(value, list) and value:
                yield value[0]
            else:
                yield from _referenced(value)
    elif isinstance(node, list):
        for item in node:
            yield from _referenced(item)


_create_change_set = models.CloudFormationBackend.create_change_set


def _create_checked_change_set(self, stack_name, change_set_name, template, *args, **kwargs):
    """AWS refuses a template whose `Ref`/`Fn::GetAtt` name something it does not
    declare, at CreateChangeSet, creating nothing; moto accepts it and fails later, in
    ways that break every DescribeStacks of the account."""
    body = models.Stack.parse_template(template)
    if isinstance(body, dict):
        known = set(body.get("Resources") or {}) | set(body.get("Parameters") or {})
        sections = [body.get("Resources"), body.get("Outputs"), body.get("Conditions")]
        missing = sorted({n for n in _referenced(sections) if n not in known | PSEUDO_PARAMETERS})
        if missing:
            raise models.ValidationError(
                message="Template format error: Unresolved resource dependencies "
                f"[{', '.join(missing)}] in the Resources block of the template"
            )
    return _create_change_set(self, stack_name, change_set_name, template, *args, **kwargs)


models.CloudFormationBackend.create_change_set = _create_checked_change_set

from moto.ec2.models import launch_templates as ec2_launch_templates


def _live_tags(self):
    """AWS describes a launch template with the tags it has now; moto keeps a copy of
    the tags it was created with, so tags set later (`CreateTags`) never show."""
    return self.get_tags()


ec2_launch_templates.LaunchTemplate.tags = property(_live_tags, lambda self, value: None)

from moto.ec2.models import instances as ec2_instances

_run_instances = ec2_instances.InstanceBackend.run_instances


def _run_instances_with_template_profile(self, image_id, count, user_data, security_group_names, **kwargs):
    """AWS launches instances with their launch template's `IamInstanceProfile`; moto
    ignores it, so instances launched from a template would have no profile."""
    reservation = _run_instances(self, image_id, count, user_data, security_group_names, **kwargs)
    template = kwargs.get("launch_template")
    given = kwargs.get("iam_instance_profile_name") or kwargs.get("iam_instance_profile_arn")
    if template and not given:
        profile = self._get_template_from_args(template).data.get("IamInstanceProfile") or {}
        for instance in reservation.instances:
            if profile.get("Arn"):
                self.associate_iam_instance_profile(
                    instance_id=instance.id, iam_instance_profile_arn=profile["Arn"]
                )
            elif profile.get("Name"):
                self.associate_iam_instance_profile(
                    instance_id=instance.id, iam_instance_profile_name=profile["Name"]
                )
    return reservation


ec2_instances.InstanceBackend.run_instances = _run_instances_with_template_profile

from moto.s3 import responses as s3_responses


def _get_bucket_versioning(self):
    """AWS answers GetBucketVersioning with a `VersioningConfiguration` document; moto's
    serializer names the root `GetBucketVersioningResponse`, which SDKs refuse."""
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}'
        "</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


s3_responses.S3Response.get_bucket_versioning = _get_bucket_versioning
