<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A stored model's feature schema hash is not the one the caller expects.
 *
 * Native status TML_STATUS_SCHEMA_MISMATCH (103).
 */
class SchemaMismatchException extends TenantMlException
{
}
