<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A model registry's own files (a version's metadata sidecar, the promotion
 * pointer CURRENT) are damaged or describe another version. Other versions
 * still load; promoting a version replaces a damaged pointer.
 *
 * Native status TML_STATUS_REGISTRY_CORRUPT (102).
 */
class RegistryCorruptException extends TenantMlException
{
}
