"""Where moto 5.2.5 (CloudFormation, EC2, S3, ECR, IAM access control) differs from AWS in
ways rollstack relies on, patched to behave as AWS does. Imported by `moto_harness.py`
before the server starts.

Each fix names the AWS behaviour it restores. Only the last one touches what a request
may do: with IAM enforced, moto cannot tell the resource of a non-S3 call, so it stops
refusing policies for naming one (docs/real-aws.md, "What the local endpoint does not
prove").
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

_create_tagged_change_set = models.CloudFormationBackend.create_change_set


def _create_untagged_review_stack(self, stack_name, change_set_name, template, parameters,
                                  description, change_set_type, *args, **kwargs):
    """AWS creates the stack of a CREATE change set in `REVIEW_IN_PROGRESS` and describes
    it with no tags until the change set executes (the tags are the change set's, and
    reach the stack then); moto tags the stack at once."""
    result = _create_tagged_change_set(self, stack_name, change_set_name, template, parameters,
                                       description, change_set_type, *args, **kwargs)
    if change_set_type != "UPDATE":
        self.stacks[result[1]].tags = {}
    return result


models.CloudFormationBackend.create_change_set = _create_untagged_review_stack

_execute_change_set = models.CloudFormationBackend.execute_change_set


def _execute_and_tag(self, change_set_name, stack_name=None):
    """(With the fix above.) Executing a CREATE change set gives the stack the change
    set's tags, as AWS does."""
    _execute_change_set(self, change_set_name, stack_name)
    change_set = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
    )
    if change_set is not None and change_set.change_set_type == "CREATE" and change_set.tags:
        self.stacks[change_set.stack_id].tags = dict(change_set.tags)


models.CloudFormationBackend.execute_change_set = _execute_and_tag

from moto.cloudformation import responses as cloudformation_responses

# AWS's `DescribeChangeSet` answers with the change set's `Tags`; moto leaves them out.
cloudformation_responses.CloudFormationResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER[
    "DescribeChangeSetOutput.Tags"
] = lambda tags: cloudformation_responses.transform_dict(tags or {})


def _list_change_sets_of_the_stack(self):
    """AWS's `ListChangeSets` takes a `StackName` (or id) and lists that stack's change
    sets; moto lists every change set of the account."""
    wanted = self._get_param("StackName")
    summaries = [
        c
        for c in self.cloudformation_backend.list_change_sets()
        if wanted in (c.stack_name, c.stack_id)
    ]
    return cloudformation_responses.ActionResult({"Summaries": summaries})


cloudformation_responses.CloudFormationResponse.list_change_sets = _list_change_sets_of_the_stack

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

# AWS authorises some S3 calls by IAM actions named otherwise than the calls; moto
# authorises them by the call's name (`s3:HeadBucket`, which no policy can grant) or as
# a listing. These are AWS's names.
s3_responses.ACTION_MAP["BUCKET"]["HEAD"]["DEFAULT"] = "ListBucket"
s3_responses.ACTION_MAP["BUCKET"]["GET"]["publicAccessBlock"] = "GetBucketPublicAccessBlock"
s3_responses.ACTION_MAP["BUCKET"]["PUT"]["publicAccessBlock"] = "PutBucketPublicAccessBlock"
s3_responses.ACTION_MAP["BUCKET"]["GET"]["encryption"] = "GetEncryptionConfiguration"
s3_responses.ACTION_MAP["BUCKET"]["PUT"]["encryption"] = "PutEncryptionConfiguration"

from moto.iam import access_control

_statement_permits = access_control.IAMPolicyStatement.is_action_permitted


def _unknown_resource_matches_any(self, action, resource="*", *args, **kwargs):
    """AWS matches a statement's `Resource` against the ARN a call touches. moto knows
    that ARN for S3 calls only and asks about resource `*` for every other call, which
    no statement scoped to ARNs matches: a least-privilege policy AWS accepts would be
    refused. With the resource unknown, any `Resource` matches; actions (and S3
    resources) are still checked. moto ignores `Condition`s either way."""
    if resource == "*" and self._statement.get("Resource") not in (None, "*"):
        statement = access_control.IAMPolicyStatement(dict(self._statement, Resource="*"))
        return _statement_permits(statement, action, resource, *args, **kwargs)
    return _statement_permits(self, action, resource, *args, **kwargs)


access_control.IAMPolicyStatement.is_action_permitted = _unknown_resource_matches_any

from urllib.parse import quote

_check_signature = access_control.IAMRequestBase.check_signature


def _check_form_signature(self):
    """AWS checks a signature against the bytes sent. For a form-encoded body (EC2,
    CloudFormation, IAM) moto only has the parsed form left, and encodes it again the
    way botocore does (a space as `+`); SDKs that encode as RFC 3986 asks (a space as
    `%20`, as the AWS SDK for Rust does) fail every call with a space or a `/`. Try the
    RFC 3986 encoding of the same form before refusing."""
    try:
        return _check_signature(self)
    except Exception:
        if self._body or not isinstance(self._data, dict):
            raise
        pairs = []
        for key, values in self._data.items():
            for value in values if isinstance(values, list) else [values]:
                pairs.append(f"{quote(str(key), safe='-_.~')}={quote(str(value), safe='-_.~')}")
        self._body = "&".join(pairs)
        try:
            return _check_signature(self)
        finally:
            self._body = None


access_control.IAMRequestBase.check_signature = _check_form_signature

from moto.ec2.responses import instances as ec2_instance_responses
from moto.core.responses import ActionResult as _ActionResult

_describe_instances = ec2_instance_responses.InstanceResponse.describe_instances


def _describe_instances_paged_by_instances(self):
    """AWS pages `DescribeInstances` by instances, at most `MaxResults` of them a page
    (5 to 1,000; 1,000 without it); moto pages by reservations, 100 of them whatever
    they hold, so a fleet launched in large reservations comes back in one page of any
    size. A reservation is not split: a page ends before one that would overflow it."""
    if self._get_param("InstanceIds", []) or "InstanceId.1" in self.data:
        return _describe_instances(self)
    self.error_on_dryrun()
    filter_dict = self._filters_from_querystring()
    reservations = self.ec2_backend.describe_instances(filters=filter_dict)
    ids = [r.id for r in reservations]
    token = self._get_param("NextToken")
    start = ids.index(token) + 1 if token in ids else 0
    max_results = int(self._get_param("MaxResults", 1000))
    page, held = [], 0
    for reservation in reservations[start:]:
        count = len(reservation.instances)
        if page and held + count > max_results:
            break
        page.append(reservation)
        held += count
    next_token = page[-1].id if page and start + len(page) < len(reservations) else None
    return _ActionResult({"Reservations": page, "NextToken": next_token})


ec2_instance_responses.InstanceResponse.describe_instances = _describe_instances_paged_by_instances

from moto.ec2.models import core as ec2_core
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix


def _tags_of_one_resource(self):
    """Speed only, the same answer: moto reads one resource's tags by scanning the tags
    of every resource in the region, so a filtered `DescribeInstances` of N instances
    takes N x N steps (minutes at 2,200 instances, hours at 10,000), where AWS answers
    in time that grows with the page. This reads the resource's own entry, in the same
    order and shape."""
    if not self.id:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    return [
        {"resource_id": self.id, "key": key, "value": value, "resource_type": resource_type}
        for key, value in self.ec2_backend.tags.get(self.id, {}).items()
    ]


ec2_core.TaggedEC2Resource.get_tags = _tags_of_one_resource

import random

from moto.autoscaling import models as autoscaling_models


def _launch_from_the_groups_version(self, count_needed, propagated_tags):
    """AWS launches an Auto Scaling group's instances from the launch template version
    the group names. moto hands EC2 only the template's id, so an instance's tags (the
    spec it runs), key pair and volumes came from the template's default version: a
    group moved to a new version launched the old one's. The same as moto's, with the
    group's version passed on."""
    propagated_tags[autoscaling_models.ASG_NAME_TAG] = self.name
    propagated_tags.update(self.instance_tags)
    subnet_id = self.vpc_zone_identifier.split(",")[0] if self.vpc_zone_identifier else None
    associate_public_ip = (
        self.launch_config.associate_public_ip_address if self.launch_config else None
    )
    launch_template = None
    if self.ec2_launch_template:
        launch_template = {
            "LaunchTemplateId": self.ec2_launch_template.id,
            "Version": str(self.ec2_launch_template.get_version(self.launch_template_version).number),
        }
    reservation = self.autoscaling_backend.ec2_backend.run_instances(
        self.image_id,
        count_needed,
        self.user_data,
        self.security_groups,
        instance_type=self.instance_type,
        tags={"instance": propagated_tags},
        placement=random.choice(self.availability_zones),
        launch_config=self.launch_config,
        launch_template=launch_template,
        is_instance_type_default=False,
        associate_public_ip=associate_public_ip,
        subnet_id=subnet_id,
    )
    for instance in reservation.instances:
        instance.autoscaling_group = self
        self.instance_states.append(
            autoscaling_models.InstanceState(
                instance,
                protected_from_scale_in=self.new_instances_protected_from_scale_in,
            )
        )


autoscaling_models.FakeAutoScalingGroup.replace_autoscaling_group_instances = (
    _launch_from_the_groups_version
)


def _register_each_instance_once(self, group_name):
    """AWS registers an instance in its group's target groups once, when it enters
    service (and in a target group attached later, once). moto registers every instance
    of the group again at every change of capacity, so an instance deregistered to drain
    before it is terminated came back into service."""
    group = self.autoscaling_groups[group_name]
    if not group.target_group_arns:
        return
    done = group.__dict__.setdefault("_registered", set())
    for target_group in self.elbv2_backend.describe_target_groups(
        target_group_arns=group.target_group_arns, load_balancer_arn=None, names=None
    ):
        new = [
            state.instance.id
            for state in group.instance_states
            if (target_group.arn, state.instance.id) not in done
        ]
        if new:
            self.elbv2_backend.register_targets(
                target_group.arn, [{"Id": i, "Port": target_group.port} for i in new]
            )
            done.update((target_group.arn, i) for i in new)


autoscaling_models.AutoScalingBackend.update_attached_target_groups = _register_each_instance_once

_notify_terminate_instances = autoscaling_models.AutoScalingBackend.notify_terminate_instances


def _replacements_join_target_groups(self, instance_ids):
    """AWS replaces an instance of a group terminated outside it and registers the
    replacement in the group's target groups when it enters service. moto launches the
    replacement but registers it only with classic load balancers, so it never served."""
    _notify_terminate_instances(self, instance_ids)
    for name in list(self.autoscaling_groups):
        self.update_attached_target_groups(name)


autoscaling_models.AutoScalingBackend.notify_terminate_instances = _replacements_join_target_groups

from moto.core.types import Base64EncodedString
from moto.ec2.models import launch_templates as ec2_launch_templates
from moto.ec2.utils import parse_user_data


def _user_data_of_any_version(self):
    """AWS launches an Auto Scaling group's instances with the user data of the version
    the group names, whichever call made that version. moto keeps the user data a
    `CreateLaunchTemplateVersion` sent as it came (not as the base64 it reads back), and
    the group's launch fails on it."""
    user_data = self.data.get("UserData")
    if user_data is not None and not isinstance(user_data, Base64EncodedString):
        user_data = parse_user_data(user_data)
        self.data["UserData"] = user_data
    return user_data


ec2_launch_templates.LaunchTemplateVersion.user_data = property(_user_data_of_any_version)

from moto.ecr import models as ecr_models


def _batch_get_image_as_asked(self, repository_name, registry_id=None, image_ids=None):
    """AWS answers each image of a `BatchGetImage` with the id it was asked by (the tag
    asked for, with the digest) and each failure with the id asked for; moto answers with
    the tag the image was last pushed with (another than asked, for an image with two
    tags) and a digest not found as tag `"null"`."""
    answer = _batch_get_image(self, repository_name, registry_id, image_ids)
    repository = self.repositories[repository_name]
    images, failures = [], []
    for asked in image_ids or []:
        found = [
            image
            for image in repository.images
            if ("imageDigest" in asked and image.get_image_digest() == asked["imageDigest"])
            or ("imageTag" in asked and asked["imageTag"] in image.image_tags)
        ]
        for image in found:
            images.append(
                {
                    "registryId": image.registry_id,
                    "repositoryName": image.repository_name,
                    "imageId": {
                        "imageTag": asked.get("imageTag"),
                        "imageDigest": image.get_image_digest(),
                    }
                    if "imageTag" in asked
                    else {"imageDigest": image.get_image_digest()},
                    "imageManifest": image.image_manifest,
                    "imageManifestMediaType": image.image_manifest_media_type,
                }
            )
        if not found:
            failures.append(
                {
                    "imageId": dict(asked),
                    "failureCode": "ImageNotFound",
                    "failureReason": "Requested image not found",
                }
            )
    answer["images"], answer["failures"] = images, failures
    return answer


_batch_get_image = ecr_models.ECRBackend.batch_get_image
ecr_models.ECRBackend.batch_get_image = _batch_get_image_as_asked


def _put_image_keeping_the_image_a_tag_leaves(
    self, repository_name, image_manifest, image_tag, image_manifest_mediatype=None, digest=None
):
    """AWS moves a tag pushed again with another image to the new image and keeps the
    image it named, untagged (still pulled by its digest, until a lifecycle policy
    expires it); moto deletes that image when the tag was its only one."""
    repository = self.repositories.get(repository_name)
    left = [
        image
        for image in (repository.images if repository else [])
        if image_tag in image.image_tags and image.image_manifest != image_manifest
    ]
    pushed = _put_image(
        self, repository_name, image_manifest, image_tag, image_manifest_mediatype, digest
    )
    for image in left:
        image.remove_tag(image_tag)
        if not image.image_tags:
            image.image_tag = None
        if image not in repository.images:
            repository.images.append(image)
    return pushed


_put_image = ecr_models.ECRBackend.put_image
ecr_models.ECRBackend.put_image = _put_image_keeping_the_image_a_tag_leaves

from moto.cloudfront import exceptions as cloudfront_exceptions
from moto.cloudfront import models as cloudfront_models


class _PreconditionFailed(cloudfront_exceptions.CloudFrontException):
    def __init__(self):
        super().__init__(
            "PreconditionFailed",
            "The If-Match version is missing or not valid for the resource.",
        )


# moto finds an error's service (and its HTTP status, 412) by the exception's module.
_PreconditionFailed.__module__ = cloudfront_exceptions.__name__


def _update_distribution_if_it_matches(self, dist_config, _id, if_match):
    """AWS updates a distribution only when `IfMatch` is the ETag it has now (else 412
    `PreconditionFailed`) and gives it a new ETag; moto takes any value and keeps the
    ETag the distribution was created with."""
    dist = self.distributions.get(_id)
    if dist is not None and if_match and if_match != dist.etag:
        raise _PreconditionFailed()
    updated = _update_distribution(self, dist_config, _id, if_match)
    dist.etag = cloudfront_models.random_id()
    return updated[0], updated[1], dist.etag


_update_distribution = cloudfront_models.CloudFrontBackend.update_distribution
cloudfront_models.CloudFrontBackend.update_distribution = _update_distribution_if_it_matches
