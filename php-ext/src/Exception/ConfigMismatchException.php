<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A breaker of that name already exists in the shared store with a different
 * configuration (pass adoptStoredConfig: true to use the stored one).
 *
 * Native status TML_STATUS_CONFIG_MISMATCH (201).
 */
class ConfigMismatchException extends TenantMlException
{
}
