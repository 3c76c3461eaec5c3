<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * A model was used before it was fitted.
 *
 * Native status TML_STATUS_NOT_FITTED (101).
 */
class NotFittedException extends TenantMlException
{
}
