"""(1.2) The types of exportTags and importTags: formats, files, the import's input and payload."""

from __future__ import annotations

import dataclasses
from inspect import cleandoc

import strawberry

from resolvers.tags.io.rows import ImportMode, TagFileFormat
from schema.common import UserError, domain_enum
from schema.tag import Tag

TagFileFormatEnum = domain_enum(
    TagFileFormat,
    name="TagFileFormat",
    description=cleandoc(
        """
        (1.2) File formats for exportTags and importTags. Colors are written as 6
        lowercase hex digits; a parent is named by its slug.
        """
    ),
    values={
        "JSON": cleandoc(
            """
            This service's own form, a JSON object `{"version": 1, "tags": [...]}`, each
            tag with `name`, `slug`, `color`, `description`, `category`, `metadata`,
            `aliases`, `exclusive`, `archived` and `parent` (the parent's slug or null):
            an export imported into an empty workspace gives the same tags back.
            """
        ),
        # One line of the contract is longer than ours may be: the header row.
        "CSV": (
            "RFC 4180 CSV with a header row "
            "`name,slug,color,description,category,parent,aliases,exclusive,archived`\n"
            + cleandoc(
                """
                (aliases joined with `|`, booleans `true`/`false`, empty for null); no
                metadata. On import only `name` is required; columns may come in any
                order and unknown columns are VALIDATION.
                """
            )
        ),
        "GITHUB_LABELS": cleandoc(
            """
            GitHub's repository labels, as its REST API lists them: a JSON array of
            objects with `name`, `color` (6 hex digits, no `#`) and `description`;
            other keys (`id`, `url`, `default`...) are ignored on import. Export writes
            only those three keys, so the file can be pushed to GitHub by label-sync tools.
            """
        ),
    },
)

ImportModeEnum = domain_enum(
    ImportMode,
    name="ImportMode",
    description=(
        "(1.2) How importTags treats a tag whose name or alias matches one already in the "
        "workspace."
    ),
    values={
        "MERGE": (
            "Update the matching tag with the file's fields (fields the row leaves empty are "
            "left as they are)."
        ),
        "CREATE_ONLY": "Leave the matching tag as it is; only tags with new names are created.",
    },
)


@strawberry.type(description="(1.2) An exported file.")
class TagFile:
    format: TagFileFormat
    content: str = strawberry.field(description="The file's text, UTF-8.")
    tag_count: int = strawberry.field(description="Tags in the file.")


@strawberry.input
class ImportTagsInput:
    workspace_id: strawberry.ID
    format: TagFileFormat
    content: str = strawberry.field(
        description="The file's text; at most 10000 tags and within the request body limit."
    )
    mode: ImportMode = ImportMode.MERGE
    dry_run: bool = strawberry.field(
        default=False,
        description="When true nothing is written: the payload says what the import would do.",
    )


@strawberry.type(
    description=cleandoc(
        """
        (1.2) An import is all or nothing: a file with any userError changes nothing.
        Rows match existing tags by name or alias (case-insensitive, after
        normalization); every rule of createTag and updateTag holds for each row,
        and a bad row's error has path `["content", N]` (N = the row, 1 for the
        first tag of the file) and the field. Rows may come in any order: a parent
        is found by slug in the file or in the workspace. Re-importing the same file
        changes nothing (every tag `unchanged`).
        """
    )
)
class ImportTagsPayload:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    tags: list[Tag] = strawberry.field(
        default_factory=list, description="The created and updated tags (empty on dryRun)."
    )
    user_errors: list[UserError] = dataclasses.field(default_factory=list)
    # The contract gives this payload no clientMutationId; schema.mutation.mutate
    # sets one on every payload, so it is kept out of the schema.
    client_mutation_id: strawberry.Private[str | None] = None
