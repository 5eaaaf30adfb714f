"""Mutation root: inputs, payloads, and the one path from domain failures to `userErrors`."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from inspect import cleandoc
from typing import Any, TypeVar

import strawberry

from resolvers.context import Info
from resolvers.errors import UserFailure
from resolvers.taggings import mutations as tagging_mutations
from resolvers.tags import archive
from resolvers.tags import mutations as tag_mutations
from resolvers.tags.io import importing
from schema.common import UserError, user_errors
from schema.scalars import JSON
from schema.tag import ResourceRefInput, Tag, TaggedResource, tagged_resource
from schema.tag_files import ImportTagsInput, ImportTagsPayload
from storage.taggings import split_key

P = TypeVar("P")


async def mutate(
    info: Info,
    payload: type[P],
    client_mutation_id: str | None,
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> P:
    """Run a mutation; a UserFailure becomes a payload with only userErrors set."""
    context = info.context
    # (1.2) The lifecycle payloads have no clientMutationId to echo.
    echo = {"client_mutation_id": client_mutation_id} if _echoes(payload) else {}
    try:
        fields = await work()
    except UserFailure as failure:
        context.refresh_loaders()
        await context.finish_mutation(succeeded=False)
        return payload(user_errors=user_errors(failure), **echo)  # type: ignore[call-arg]
    except BaseException:
        await context.finish_mutation(succeeded=False)
        raise
    await context.finish_mutation(succeeded=True)
    return payload(**fields, user_errors=[], **echo)  # type: ignore[call-arg]


def _echoes(payload: Any) -> bool:
    return any(f.name == "client_mutation_id" for f in dataclasses.fields(payload))


def given(
    input: object, *, exclude: tuple[str, ...] = ("id", "client_mutation_id")
) -> dict[str, Any]:
    """The fields a client actually sent, by their GraphQL names (UNSET ones left out)."""
    out = {}
    for f in dataclasses.fields(input):  # type: ignore[arg-type]
        value = getattr(input, f.name)
        if f.name in exclude or value is strawberry.UNSET:
            continue
        out[strawberry_name(f.name)] = value
    return out


def strawberry_name(python_name: str) -> str:
    head, *rest = python_name.split("_")
    return head + "".join(part.title() for part in rest)


def _resource_dicts(refs: list[ResourceRefInput]) -> list[dict[str, str]]:
    return [{"type": r.type, "id": r.id} for r in refs]


def _resource(workspace_id: str, rk: str) -> TaggedResource:
    return tagged_resource(workspace_id, *split_key(rk))


@strawberry.input
class CreateTagInput:
    workspace_id: strawberry.ID
    name: str
    slug: str | None = strawberry.UNSET
    color: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    exclusive: bool | None = strawberry.field(
        default=strawberry.UNSET, description="(1.1) See Tag.exclusive; false when not given."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="(1.1) See Tag.aliases."
    )
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class CreateTagPayload:
    tag: Tag | None = strawberry.field(
        default=None, description="The new tag; null when userErrors is not empty."
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


# The (1.1) sentences are the contract's wording; `aliases` comes with a later
# issue.
@strawberry.input(
    description=cleandoc(
        """
        Partial update. An omitted field is left unchanged. An explicit null clears
        `description`, `category`, `metadata` (to `{}`) and `parentId` (the tag becomes
        a root); so does an empty (or whitespace-only) string for `description` and
        `category`. Null for `name`, `slug` or `color` is VALIDATION. A rename keeps
        the slug unless `slug` is given too. At least one field
        besides `id` and `clientMutationId` must be given (else VALIDATION).
        (1.1) `aliases` replaces the whole list; null or an empty list clears it.
        Null for `exclusive` is VALIDATION.
        """
    )
)
class UpdateTagInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    slug: str | None = strawberry.UNSET
    color: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    exclusive: bool | None = strawberry.field(
        default=strawberry.UNSET, description="(1.1) See Tag.exclusive; false when not given."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="(1.1) See Tag.aliases."
    )
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class UpdateTagPayload:
    tag: Tag | None = None
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(
    description=cleandoc(
        """
        Deletes a tag and removes it from every resource. Its children move up to the
        deleted tag's parent, unless `deleteDescendants` is true: then the whole
        subtree is deleted, each removed from every resource.
        """
    )
)
class DeleteTagInput:
    id: strawberry.ID
    delete_descendants: bool | None = False
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class DeleteTagPayload:
    deleted_tag_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Every tag id deleted (the tag, plus descendants when asked).",
    )
    removed_taggings_count: int = strawberry.field(
        default=0, description="How many (resource, tag) associations were removed."
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(description="One tag to create in a batch.")
class TagDraft:
    name: str
    slug: str | None = strawberry.UNSET
    color: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET
    exclusive: bool | None = strawberry.field(
        default=strawberry.UNSET, description="(1.1) See Tag.exclusive; false when not given."
    )
    aliases: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="(1.1) See Tag.aliases."
    )


@strawberry.input(
    description=cleandoc(
        """
        Creates 1-100 tags (outside that range: VALIDATION with field `["tags"]`).
        All or nothing: when any item is invalid or conflicts, nothing is created and
        every failing item is reported with field path `["tags", "<index>", ...]`.
        An item whose name or slug repeats an earlier item of the same batch fails
        with NAME_TAKEN / SLUG_TAKEN; the earlier item does not.
        """
    )
)
class CreateTagsInput:
    workspace_id: strawberry.ID
    tags: list[TagDraft]
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class CreateTagsPayload:
    tags: list[Tag] = strawberry.field(
        default_factory=list,
        description="The created tags, in input order; empty when userErrors is not empty.",
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(
    description="Deletes 1-100 tags, each as DeleteTagInput with deleteDescendants false."
)
class DeleteTagsInput:
    workspace_id: strawberry.ID
    ids: list[strawberry.ID]
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class DeleteTagsPayload:
    deleted_count: int = 0
    deleted_ids: list[strawberry.ID] = dataclasses.field(default_factory=list)
    not_found_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Ids that matched no tag in the workspace (not an error).",
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(
    description=cleandoc(
        """
        Merges 1-50 source tags into a target in the same workspace: every resource
        carrying a source afterwards carries the target (never twice), children of the
        sources move under the target, and the sources are deleted. The target keeps
        its own name, slug, color and parent, except when it is a descendant of a
        source: then it first moves up to its nearest ancestor that is not a source
        (or becomes a root). Target among the sources is VALIDATION; a result deeper
        than depth 4 is DEPTH_EXCEEDED. (1.1) With keepSourceNamesAsAliases, the
        sources' names and aliases become aliases of the target (those equal to the
        target's name, without regard to case, are dropped), so that later look-ups
        of an old name find the target; more than 50 aliases is LIMIT_EXCEEDED.
        """
    )
)
class MergeTagsInput:
    target_id: strawberry.ID
    source_ids: list[strawberry.ID]
    keep_source_names_as_aliases: bool | None = True
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class MergeTagsPayload:
    tag: Tag | None = strawberry.field(default=None, description="The target, after the merge.")
    merged_tag_ids: list[strawberry.ID] = dataclasses.field(default_factory=list)
    moved_taggings_count: int = strawberry.field(
        default=0,
        description=(
            "Associations that now point at the target instead of a source "
            "(duplicates not counted)."
        ),
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


# The (1.1) sentences are the contract's wording; aliases come with a later issue.
@strawberry.input(
    description=cleandoc(
        """
        Adds tags to 1-500 resources. Tags are named by id and/or by name (matched
        case-insensitively); with createMissing, unknown names are created as root
        tags. Adding a tag a resource already has is not an error and changes nothing.
        A resource may carry at most 100 tags (LIMIT_EXCEEDED). As for every
        mutation, a request with any user error changes nothing.
        (1.1) Names match aliases too, and createMissing never creates a tag for a
        name that is an alias. When a tag added to a resource has an exclusive
        parent, the resource's other children of that parent are taken off it
        (counted in `replacedCount`); naming two or more children of one exclusive
        parent in one request is VALIDATION with field `["tagIds"]` or
        `["tagNames"]` (where the second one was named).
        """
    )
)
class AddTagsToResourcesInput:
    workspace_id: strawberry.ID
    resources: list[ResourceRefInput]
    tag_ids: list[strawberry.ID] | None = strawberry.UNSET
    tag_names: list[str] | None = strawberry.UNSET
    create_missing: bool | None = False
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class AddTagsToResourcesPayload:
    resources: list[TaggedResource] = strawberry.field(
        default_factory=list, description="The resources after the change, in input order."
    )
    created_tags: list[Tag] = strawberry.field(
        default_factory=list, description="Tags created because of createMissing."
    )
    added_count: int = strawberry.field(
        default=0, description="New (resource, tag) associations made."
    )
    replaced_count: int = strawberry.field(
        default=0,
        description=(
            "(1.1) Associations removed because a child of the same exclusive parent was added."
        ),
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(
    description=(
        "Removes tags from 1-500 resources. Removing a tag a resource does not carry "
        "is not an error."
    )
)
class RemoveTagsFromResourcesInput:
    workspace_id: strawberry.ID
    resources: list[ResourceRefInput]
    tag_ids: list[strawberry.ID]
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class RemoveTagsFromResourcesPayload:
    resources: list[TaggedResource] = dataclasses.field(default_factory=list)
    removed_count: int = 0
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(
    description=cleandoc(
        """
        Replaces the whole tag set of one resource (an empty list clears it).
        (1.1) Two or more children of one exclusive parent is VALIDATION with field
        `["tagIds"]`.
        """
    )
)
class SetResourceTagsInput:
    workspace_id: strawberry.ID
    resource: ResourceRefInput
    tag_ids: list[strawberry.ID]
    client_mutation_id: str | None = strawberry.UNSET


@strawberry.type
class SetResourceTagsPayload:
    resource: TaggedResource | None = None
    added_count: int = 0
    removed_count: int = 0
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    client_mutation_id: str | None = None


@strawberry.input(description="(1.2) Tags to archive or restore (1-100 ids).")
class ArchiveTagsInput:
    workspace_id: strawberry.ID
    ids: list[strawberry.ID]


@strawberry.type(
    description=cleandoc(
        """
        (1.2) Archiving an archived tag, or restoring one that is not, changes
        nothing and is no error. Children are not archived with their parent.
        """
    )
)
class ArchiveTagsPayload:
    tags: list[Tag] = strawberry.field(
        default_factory=list,
        description=(
            "The tags named, as they are now, in the order of `ids` (unknown ids left out)."
        ),
    )
    not_found_ids: list[strawberry.ID] = dataclasses.field(default_factory=list)
    user_errors: list[UserError] = dataclasses.field(default_factory=list)


def _cmid(input: Any) -> str | None:
    value = input.client_mutation_id
    return None if value is strawberry.UNSET else value


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_tag(self, info: Info, input: CreateTagInput) -> CreateTagPayload:
        async def work() -> dict[str, Any]:
            fields = given(input, exclude=("workspace_id", "client_mutation_id"))
            doc = await tag_mutations.create_tag(info.context, input.workspace_id, fields)
            return {"tag": Tag.from_doc(doc)}

        return await mutate(info, CreateTagPayload, _cmid(input), work)

    @strawberry.mutation
    async def update_tag(self, info: Info, input: UpdateTagInput) -> UpdateTagPayload:
        async def work() -> dict[str, Any]:
            doc = await tag_mutations.update_tag(info.context, input.id, given(input))
            return {"tag": Tag.from_doc(doc)}

        return await mutate(info, UpdateTagPayload, _cmid(input), work)

    @strawberry.mutation
    async def delete_tag(self, info: Info, input: DeleteTagInput) -> DeleteTagPayload:
        async def work() -> dict[str, Any]:
            ids, removed = await tag_mutations.delete_tag(
                info.context, input.id, bool(input.delete_descendants)
            )
            return {"deleted_tag_ids": ids, "removed_taggings_count": removed}

        return await mutate(info, DeleteTagPayload, _cmid(input), work)

    @strawberry.mutation
    async def create_tags(self, info: Info, input: CreateTagsInput) -> CreateTagsPayload:
        async def work() -> dict[str, Any]:
            items = [given(d, exclude=()) for d in input.tags]
            docs = await tag_mutations.create_tags(info.context, input.workspace_id, items)
            return {"tags": [Tag.from_doc(d) for d in docs]}

        return await mutate(info, CreateTagsPayload, _cmid(input), work)

    @strawberry.mutation
    async def delete_tags(self, info: Info, input: DeleteTagsInput) -> DeleteTagsPayload:
        async def work() -> dict[str, Any]:
            deleted, missing = await tag_mutations.delete_tags(
                info.context, input.workspace_id, list(input.ids)
            )
            return {"deleted_count": len(deleted), "deleted_ids": deleted, "not_found_ids": missing}

        return await mutate(info, DeleteTagsPayload, _cmid(input), work)

    @strawberry.mutation
    async def merge_tags(self, info: Info, input: MergeTagsInput) -> MergeTagsPayload:
        async def work() -> dict[str, Any]:
            doc, merged, moved = await tag_mutations.merge_tags(
                info.context,
                input.target_id,
                list(input.source_ids),
                # Null is taken as the default: keeping the old names is the safe choice.
                input.keep_source_names_as_aliases is not False,
            )
            return {
                "tag": Tag.from_doc(doc),
                "merged_tag_ids": merged,
                "moved_taggings_count": moved,
            }

        return await mutate(info, MergeTagsPayload, _cmid(input), work)

    @strawberry.mutation
    async def add_tags_to_resources(
        self, info: Info, input: AddTagsToResourcesInput
    ) -> AddTagsToResourcesPayload:
        async def work() -> dict[str, Any]:
            keys, created, added, replaced = await tagging_mutations.add_tags_to_resources(
                info.context,
                input.workspace_id,
                _resource_dicts(input.resources),
                input.tag_ids or None,
                input.tag_names or None,
                bool(input.create_missing),
            )
            return {
                "resources": [_resource(input.workspace_id, rk) for rk in keys],
                "created_tags": [Tag.from_doc(d) for d in created],
                "added_count": added,
                "replaced_count": replaced,
            }

        return await mutate(info, AddTagsToResourcesPayload, _cmid(input), work)

    @strawberry.mutation
    async def remove_tags_from_resources(
        self, info: Info, input: RemoveTagsFromResourcesInput
    ) -> RemoveTagsFromResourcesPayload:
        async def work() -> dict[str, Any]:
            keys, removed = await tagging_mutations.remove_tags_from_resources(
                info.context,
                input.workspace_id,
                _resource_dicts(input.resources),
                list(input.tag_ids),
            )
            return {
                "resources": [_resource(input.workspace_id, rk) for rk in keys],
                "removed_count": removed,
            }

        return await mutate(info, RemoveTagsFromResourcesPayload, _cmid(input), work)

    @strawberry.mutation
    async def set_resource_tags(
        self, info: Info, input: SetResourceTagsInput
    ) -> SetResourceTagsPayload:
        async def work() -> dict[str, Any]:
            rk, added, removed = await tagging_mutations.set_resource_tags(
                info.context,
                input.workspace_id,
                {"type": input.resource.type, "id": input.resource.id},
                list(input.tag_ids),
            )
            return {
                "resource": _resource(input.workspace_id, rk),
                "added_count": added,
                "removed_count": removed,
            }

        return await mutate(info, SetResourceTagsPayload, _cmid(input), work)

    @strawberry.mutation(description="(1.2) Needs tags:write.")
    async def import_tags(self, info: Info, input: ImportTagsInput) -> ImportTagsPayload:
        async def work() -> dict[str, Any]:
            done = await importing.import_tags(
                info.context,
                input.workspace_id,
                input.format,
                input.content,
                input.mode,
                input.dry_run,
            )
            return {
                "created": done.created,
                "updated": done.updated,
                "unchanged": done.unchanged,
                "tags": [Tag.from_doc(d) for d in done.tags],
            }

        return await mutate(info, ImportTagsPayload, None, work)

    @strawberry.mutation(description="(1.2) Needs tags:write.")
    async def archive_tags(self, info: Info, input: ArchiveTagsInput) -> ArchiveTagsPayload:
        async def work() -> dict[str, Any]:
            docs, missing = await archive.archive_tags(
                info.context, input.workspace_id, list(input.ids)
            )
            return {"tags": [Tag.from_doc(d) for d in docs], "not_found_ids": missing}

        return await mutate(info, ArchiveTagsPayload, None, work)

    @strawberry.mutation(description="(1.2) Needs tags:write.")
    async def restore_tags(self, info: Info, input: ArchiveTagsInput) -> ArchiveTagsPayload:
        async def work() -> dict[str, Any]:
            docs, missing = await archive.restore_tags(
                info.context, input.workspace_id, list(input.ids)
            )
            return {"tags": [Tag.from_doc(d) for d in docs], "not_found_ids": missing}

        return await mutate(info, ArchiveTagsPayload, None, work)
