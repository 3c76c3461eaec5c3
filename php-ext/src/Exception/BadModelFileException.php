<?php

declare(strict_types=1);

namespace TenantMl\Exception;

/**
 * Model bytes or a model file were not a valid tenantml model.
 *
 * Native status TML_STATUS_BAD_MODEL_FILE (100).
 */
class BadModelFileException extends TenantMlException
{
}
